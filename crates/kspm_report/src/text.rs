//! Plain text building blocks shared by the analysis outputs (RBAC, network, catalogues), and
//! the short answers of commands that print one (`kspm remediate --undo`).

/// Pretty JSON with a final newline.
pub fn json(value: &impl serde::Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("serializes");
    s.push('\n');
    s
}

/// `kspm remediate --undo ID`: the change undone and its diff, indented.
pub fn undone(id: &str, object: &dyn std::fmt::Display, diff: &[String]) -> String {
    let mut text = format!("undid change {id} on {object}\n");
    for line in diff {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A plain text table: columns padded to their widest cell, the last one free.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_undone_change_names_the_object_and_indents_its_diff() {
        let diff = [
            "-  privileged: false".to_owned(),
            "+  privileged: true".to_owned(),
        ];
        assert_eq!(
            super::undone("c-1", &"Deployment/shop/web", &diff),
            "undid change c-1 on Deployment/shop/web\n    -  privileged: false\n    +  privileged: true\n"
        );
    }
}
