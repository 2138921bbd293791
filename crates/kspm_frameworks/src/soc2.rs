//! SOC 2: the AICPA 2017 Trust Services Criteria (points of focus revised 2022), the criteria
//! that Kubernetes configuration evidences. Criteria about people, vendors and governance are
//! left out; every criterion listed is mapped to rules or says what a person must check.

pub const VERSION: &str = "TSC 2017 (rev. 2022)";

crate::controls! {
    Soc2;
    CC6_1 = "CC6.1", "Logical access security over protected information assets (authentication, least privilege by default)";
    CC6_2 = "CC6.2", "Users are registered and authorized before access is granted", manual "Check that cluster users come from an identity provider with an approval step (OIDC groups, cloud IAM), and that kubeconfigs are not shared.";
    CC6_3 = "CC6.3", "Access is granted, changed and removed by role, with least privilege";
    CC6_6 = "CC6.6", "Boundary protection against threats from outside the system";
    CC6_7 = "CC6.7", "Transmission of information is restricted and protected in transit";
    CC6_8 = "CC6.8", "Unauthorized or malicious software is prevented or detected";
    CC7_1 = "CC7.1", "Configuration changes that introduce vulnerabilities are detected";
    CC7_2 = "CC7.2", "System components are monitored for anomalies (logging)";
    CC8_1 = "CC8.1", "Changes are authorized, tested and approved before deployment", manual "Check that manifests reach the cluster only through reviewed pull requests and a pipeline (GitOps, CI with kspm), not kubectl from laptops.";
    A1_1 = "A1.1", "Capacity is managed to meet availability commitments";
    A1_2 = "A1.2", "Environmental protections and recovery infrastructure support availability";
    C1_1 = "C1.1", "Confidential information is identified and protected";
}
