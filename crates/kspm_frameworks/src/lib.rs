//! Compliance control catalogues as typed constants, one module per framework with its version.
//!
//! Rules name the controls they implement with these constants, so a typo does not compile and
//! the framework → rules view is derived from the rules, never kept by hand in a second file
//! that drifts. A control no rule can judge says so: it is [`Assessment::Manual`] (with what a
//! person must check) or [`Assessment::NotApplicable`] (with the reason). A test in
//! `kspm_rules` fails when an automated control has no rule, or a manual one has rules.

pub mod cis;
pub mod gdpr;
pub mod hipaa;
pub mod iso27001;
pub mod mitre;
pub mod nist;
pub mod nsa;
pub mod pci;
pub mod pss;
pub mod soc2;

/// A compliance framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Framework {
    /// CIS Kubernetes Benchmark.
    Cis,
    /// Kubernetes Pod Security Standards.
    Pss,
    /// NSA-CISA Kubernetes Hardening Guide.
    Nsa,
    /// MITRE ATT&CK for Containers.
    Mitre,
    /// AICPA SOC 2 Trust Services Criteria.
    Soc2,
    /// PCI DSS.
    Pci,
    /// HIPAA Security Rule.
    Hipaa,
    /// EU GDPR, Articles 25 and 32.
    Gdpr,
    /// ISO/IEC 27001 Annex A.
    Iso27001,
    /// NIST SP 800-53.
    Nist,
}

impl Framework {
    pub const ALL: [Framework; 10] = [
        Framework::Cis,
        Framework::Pss,
        Framework::Nsa,
        Framework::Mitre,
        Framework::Soc2,
        Framework::Pci,
        Framework::Hipaa,
        Framework::Gdpr,
        Framework::Iso27001,
        Framework::Nist,
    ];

    /// The short key used in rule metadata, JSON and `--framework` (`cis`, `pci-dss`...).
    pub const fn key(self) -> &'static str {
        match self {
            Framework::Cis => "cis",
            Framework::Pss => "pss",
            Framework::Nsa => "nsa",
            Framework::Mitre => "mitre",
            Framework::Soc2 => "soc2",
            Framework::Pci => "pci-dss",
            Framework::Hipaa => "hipaa",
            Framework::Gdpr => "gdpr",
            Framework::Iso27001 => "iso27001",
            Framework::Nist => "nist-800-53",
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            Framework::Cis => "CIS Kubernetes Benchmark",
            Framework::Pss => "Kubernetes Pod Security Standards",
            Framework::Nsa => "NSA-CISA Kubernetes Hardening Guide",
            Framework::Mitre => "MITRE ATT&CK for Containers",
            Framework::Soc2 => "SOC 2 Trust Services Criteria",
            Framework::Pci => "PCI DSS",
            Framework::Hipaa => "HIPAA Security Rule",
            Framework::Gdpr => "GDPR (Art. 25 and 32)",
            Framework::Iso27001 => "ISO/IEC 27001:2022 Annex A",
            Framework::Nist => "NIST SP 800-53",
        }
    }

    pub const fn version(self) -> &'static str {
        match self {
            Framework::Cis => cis::VERSION,
            Framework::Pss => pss::VERSION,
            Framework::Nsa => nsa::VERSION,
            Framework::Mitre => mitre::VERSION,
            Framework::Soc2 => soc2::VERSION,
            Framework::Pci => pci::VERSION,
            Framework::Hipaa => hipaa::VERSION,
            Framework::Gdpr => gdpr::VERSION,
            Framework::Iso27001 => iso27001::VERSION,
            Framework::Nist => nist::VERSION,
        }
    }

    pub const fn controls(self) -> &'static [&'static Control] {
        match self {
            Framework::Cis => cis::ALL,
            Framework::Pss => pss::ALL,
            Framework::Nsa => nsa::ALL,
            Framework::Mitre => mitre::ALL,
            Framework::Soc2 => soc2::ALL,
            Framework::Pci => pci::ALL,
            Framework::Hipaa => hipaa::ALL,
            Framework::Gdpr => gdpr::ALL,
            Framework::Iso27001 => iso27001::ALL,
            Framework::Nist => nist::ALL,
        }
    }

    /// Finds a framework by key, case-insensitively; a few common spellings are accepted
    /// (`pci`, `nist`, `iso-27001`, `soc-2`, `nsa-cisa`, `mitre-attack`).
    pub fn from_key(name: &str) -> Option<Framework> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match n.as_str() {
            "pci" | "pcidss" | "pci-dss-4" | "pci-dss-4.0" => "pci-dss",
            "nist" | "nist80053" | "nist-sp-800-53" | "800-53" => "nist-800-53",
            "iso" | "iso-27001" | "iso27001-2022" => "iso27001",
            "soc-2" => "soc2",
            "nsa-cisa" => "nsa",
            "mitre-attack" | "attack" => "mitre",
            "cis-kubernetes" => "cis",
            other => other,
        };
        Framework::ALL.into_iter().find(|f| f.key() == alias)
    }

    /// One control by its id.
    pub fn control(self, id: &str) -> Option<&'static Control> {
        self.controls().iter().copied().find(|c| c.id == id)
    }
}

/// How a control is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assessment {
    /// By the rules that declare the control (at least one must).
    Automated,
    /// By a person; the text says what they must check.
    Manual(&'static str),
    /// Not about Kubernetes configuration; the text says why.
    NotApplicable(&'static str),
}

/// One control of a framework.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Control {
    pub framework: Framework,
    /// The framework's own identifier (`5.2.2`, `baseline:host-namespaces`, `T1611`, `CC6.1`).
    pub id: &'static str,
    /// The control's title, paraphrased.
    pub title: &'static str,
    pub assessment: Assessment,
}

/// Declares a framework's controls: `NAME = "id", "title";` is automated, a trailing
/// `manual "what to check"` or `na "why"` marks the others.
macro_rules! controls {
    ($fw:ident; $($name:ident = $id:literal, $title:literal $(, $kind:ident $text:literal)?;)*) => {
        $(pub const $name: $crate::Control = $crate::Control {
            framework: $crate::Framework::$fw,
            id: $id,
            title: $title,
            assessment: $crate::assessment!($($kind $text)?),
        };)*
        /// Every control, in the framework's order.
        pub const ALL: &[&$crate::Control] = &[$(&$name),*];
    };
}
pub(crate) use controls;

macro_rules! assessment {
    () => {
        $crate::Assessment::Automated
    };
    (manual $text:literal) => {
        $crate::Assessment::Manual($text)
    };
    (na $text:literal) => {
        $crate::Assessment::NotApplicable($text)
    };
}
pub(crate) use assessment;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn control_ids_are_unique_and_belong_to_their_framework() {
        for fw in Framework::ALL {
            let mut seen = HashSet::new();
            assert!(!fw.version().is_empty());
            assert!(!fw.controls().is_empty(), "{fw:?} has no controls");
            for c in fw.controls() {
                assert_eq!(c.framework, fw, "{} is listed under {:?}", c.id, fw);
                assert!(seen.insert(c.id), "duplicate control {} in {:?}", c.id, fw);
                assert!(!c.title.is_empty());
                match c.assessment {
                    Assessment::Manual(t) | Assessment::NotApplicable(t) => {
                        assert!(t.len() > 20, "{} {}: say what and why", fw.key(), c.id);
                    }
                    Assessment::Automated => {}
                }
            }
        }
    }

    #[test]
    fn keys_round_trip_and_aliases_resolve() {
        for fw in Framework::ALL {
            assert_eq!(Framework::from_key(fw.key()), Some(fw));
            assert_eq!(Framework::from_key(&fw.key().to_uppercase()), Some(fw));
        }
        assert_eq!(Framework::from_key("pci"), Some(Framework::Pci));
        assert_eq!(Framework::from_key("NIST"), Some(Framework::Nist));
        assert_eq!(Framework::from_key("nope"), None);
    }

    #[test]
    fn cis_covers_every_section() {
        for section in ["1.", "2.", "3.", "4.", "5."] {
            assert!(
                cis::ALL.iter().any(|c| c.id.starts_with(section)),
                "CIS section {section} missing"
            );
        }
    }
}
