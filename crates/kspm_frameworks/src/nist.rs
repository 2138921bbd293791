//! NIST SP 800-53 Revision 5 controls that Kubernetes configuration evidences (base controls,
//! not enhancements). Families about people, planning and physical protection are left out.

pub const VERSION: &str = "Rev. 5";

crate::controls! {
    Nist;
    AC_2 = "AC-2", "Account Management";
    AC_3 = "AC-3", "Access Enforcement";
    AC_4 = "AC-4", "Information Flow Enforcement";
    AC_6 = "AC-6", "Least Privilege";
    AU_2 = "AU-2", "Event Logging";
    AU_4 = "AU-4", "Audit Log Storage Capacity";
    AU_11 = "AU-11", "Audit Record Retention";
    AU_12 = "AU-12", "Audit Record Generation", manual "Check that the API server's audit policy (--audit-policy-file) generates records for the events AU-2 selects, at the right level.";
    CM_2 = "CM-2", "Baseline Configuration", manual "Check that a documented baseline configuration for clusters and workloads exists and that kspm's rule selection and exceptions reflect it.";
    CM_6 = "CM-6", "Configuration Settings";
    CM_7 = "CM-7", "Least Functionality";
    IA_2 = "IA-2", "Identification and Authentication (Organizational Users)";
    IA_5 = "IA-5", "Authenticator Management";
    RA_5 = "RA-5", "Vulnerability Monitoring and Scanning";
    SC_5 = "SC-5", "Denial-of-service Protection";
    SC_7 = "SC-7", "Boundary Protection";
    SC_8 = "SC-8", "Transmission Confidentiality and Integrity";
    SC_12 = "SC-12", "Cryptographic Key Establishment and Management";
    SC_28 = "SC-28", "Protection of Information at Rest", manual "Check that Secrets are encrypted at rest in etcd (--encryption-provider-config with a KMS provider) and that volumes use encrypted storage.";
    SC_39 = "SC-39", "Process Isolation";
    SI_2 = "SI-2", "Flaw Remediation";
    SI_7 = "SI-7", "Software, Firmware, and Information Integrity";
}
