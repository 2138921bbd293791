//! HIPAA Security Rule (45 CFR Part 164, Subpart C) standards and implementation
//! specifications that Kubernetes configuration evidences. Administrative and physical
//! safeguards about people and premises are left out, except where shown as not applicable.

pub const VERSION: &str = "45 CFR 164 Subpart C (2013)";

crate::controls! {
    Hipaa;
    ACTIVITY_REVIEW = "164.308(a)(1)(ii)(D)", "Information system activity review (records of activity are kept and reviewed)";
    ACCESS_AUTHORIZATION = "164.308(a)(4)(ii)(B)", "Access authorization: access is granted through a defined policy";
    MALWARE = "164.308(a)(5)(ii)(B)", "Protection from malicious software";
    BACKUP = "164.308(a)(7)(ii)(A)", "Data backup plan", manual "Check that etcd and the persistent volumes holding ePHI are backed up on a schedule and that a restore has been tested.";
    FACILITY = "164.310(a)(1)", "Facility access controls", na "Physical access to data centres is outside what Kubernetes configuration can show; it is evidenced by the hosting provider's attestations.";
    ACCESS_CONTROL = "164.312(a)(1)", "Access control: only authorized persons and software reach ePHI";
    ENCRYPTION_AT_REST = "164.312(a)(2)(iv)", "Encryption and decryption of ePHI (addressable)", manual "Check that Secrets are encrypted at rest in etcd (--encryption-provider-config) and that volumes holding ePHI use encrypted storage classes.";
    AUDIT_CONTROLS = "164.312(b)", "Audit controls record and examine activity in systems holding ePHI";
    INTEGRITY = "164.312(c)(1)", "Integrity: ePHI is protected from improper alteration or destruction";
    AUTHENTICATION = "164.312(d)", "Person or entity authentication";
    TRANSMISSION = "164.312(e)(1)", "Transmission security: ePHI is protected in transit";
}
