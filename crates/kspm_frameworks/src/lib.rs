//! Compliance control catalogues as typed constants.
//!
//! Rules name the controls they implement with these constants, so a typo does not compile and
//! the framework → rules view is derived from the rules, never kept by hand in a second file
//! that drifts.

pub mod cis;
pub mod mitre;
pub mod nsa;
pub mod pss;

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
}

impl Framework {
    pub const ALL: [Framework; 4] = [
        Framework::Cis,
        Framework::Pss,
        Framework::Nsa,
        Framework::Mitre,
    ];

    /// The short key used in rule metadata and JSON (`cis`, `pss`, `nsa`, `mitre`).
    pub const fn key(self) -> &'static str {
        match self {
            Framework::Cis => "cis",
            Framework::Pss => "pss",
            Framework::Nsa => "nsa",
            Framework::Mitre => "mitre",
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            Framework::Cis => "CIS Kubernetes Benchmark",
            Framework::Pss => "Kubernetes Pod Security Standards",
            Framework::Nsa => "NSA-CISA Kubernetes Hardening Guide",
            Framework::Mitre => "MITRE ATT&CK for Containers",
        }
    }

    pub const fn version(self) -> &'static str {
        match self {
            Framework::Cis => cis::VERSION,
            Framework::Pss => pss::VERSION,
            Framework::Nsa => nsa::VERSION,
            Framework::Mitre => mitre::VERSION,
        }
    }

    pub const fn controls(self) -> &'static [&'static Control] {
        match self {
            Framework::Cis => cis::ALL,
            Framework::Pss => pss::ALL,
            Framework::Nsa => nsa::ALL,
            Framework::Mitre => mitre::ALL,
        }
    }
}

/// One control of a framework.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Control {
    pub framework: Framework,
    /// The framework's own identifier (`5.2.2`, `baseline:host-namespaces`, `T1611`).
    pub id: &'static str,
    pub title: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn control_ids_are_unique_and_belong_to_their_framework() {
        for fw in Framework::ALL {
            let mut seen = HashSet::new();
            for c in fw.controls() {
                assert_eq!(c.framework, fw, "{} is listed under {:?}", c.id, fw);
                assert!(seen.insert(c.id), "duplicate control {} in {:?}", c.id, fw);
                assert!(!c.title.is_empty());
            }
        }
    }
}
