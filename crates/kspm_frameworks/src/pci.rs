//! PCI DSS v4.0 requirements that Kubernetes configuration evidences, at the level of the
//! numbered defined approach requirements. Requirements about cardholder data handling,
//! physical security and policy documents are left out.

pub const VERSION: &str = "4.0";

crate::controls! {
    Pci;
    R1_3_1 = "1.3.1", "Inbound traffic to the cardholder data environment is restricted to what is necessary";
    R1_4_1 = "1.4.1", "Network security controls sit between trusted and untrusted networks";
    R2_2_1 = "2.2.1", "Configuration standards are developed, kept current and applied", manual "Check that the organisation's Kubernetes configuration standard is written down and that kspm's configuration (kspm.yaml, selected rules, exceptions) implements it.";
    R2_2_4 = "2.2.4", "Only necessary services, protocols, daemons and functions are enabled";
    R2_2_5 = "2.2.5", "Insecure services, protocols or daemons that are present are justified and secured";
    R2_2_6 = "2.2.6", "System security parameters are configured to prevent misuse";
    R2_2_7 = "2.2.7", "All non-console administrative access is encrypted with strong cryptography";
    R3_5_1 = "3.5.1", "Stored account data is rendered unreadable", manual "Check that Secrets are encrypted at rest in etcd (API server --encryption-provider-config with kms or aescbc) and that cardholder data stores encrypt their volumes.";
    R4_2_1 = "4.2.1", "Strong cryptography protects data over open, public networks";
    R6_3_3 = "6.3.3", "System components are protected from known vulnerabilities";
    R7_2_1 = "7.2.1", "An access control model is defined and covers all system components";
    R7_2_2 = "7.2.2", "Access is assigned by job function with least privilege";
    R7_2_5 = "7.2.5", "System and application accounts have least privilege";
    R8_2_2 = "8.2.2", "Shared, generic or group accounts are not used without justification";
    R8_3_1 = "8.3.1", "All access to system components is authenticated";
    R8_6_2 = "8.6.2", "Passwords for system and application accounts are not hard-coded in scripts or configuration";
    R10_2_1 = "10.2.1", "Audit logs are enabled and active for all system components";
    R10_5_1 = "10.5.1", "Audit log history is retained for at least 12 months", manual "Check that API server audit logs are shipped to storage that keeps 12 months, 3 of them immediately available; local rotation (--audit-log-maxage) alone does not.";
}
