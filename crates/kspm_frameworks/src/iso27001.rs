//! ISO/IEC 27001:2022 Annex A: the controls Kubernetes configuration evidences. Organisational,
//! people and physical controls are left out.

pub const VERSION: &str = "2022";

crate::controls! {
    Iso27001;
    A5_15 = "A.5.15", "Access control";
    A5_17 = "A.5.17", "Authentication information";
    A5_18 = "A.5.18", "Access rights", manual "Check that access rights to clusters and namespaces are reviewed periodically and removed when people change role (RoleBindings, cloud IAM groups).";
    A8_2 = "A.8.2", "Privileged access rights";
    A8_3 = "A.8.3", "Information access restriction";
    A8_5 = "A.8.5", "Secure authentication";
    A8_6 = "A.8.6", "Capacity management";
    A8_7 = "A.8.7", "Protection against malware";
    A8_8 = "A.8.8", "Management of technical vulnerabilities";
    A8_9 = "A.8.9", "Configuration management";
    A8_12 = "A.8.12", "Data leakage prevention";
    A8_13 = "A.8.13", "Information backup", manual "Check that etcd and persistent volumes are backed up and restores are tested.";
    A8_15 = "A.8.15", "Logging";
    A8_16 = "A.8.16", "Monitoring activities", manual "Check that audit logs and runtime events are watched with alerts for anomalous activity (exec into pods, new privileged workloads, RBAC changes).";
    A8_20 = "A.8.20", "Networks security";
    A8_21 = "A.8.21", "Security of network services";
    A8_22 = "A.8.22", "Segregation of networks";
    A8_24 = "A.8.24", "Use of cryptography";
    A8_31 = "A.8.31", "Separation of development, test and production environments", manual "Check that production runs in its own cluster or in namespaces with separate access and network policies from development and test.";
    A8_32 = "A.8.32", "Change management", manual "Check that changes to manifests are reviewed and deployed through a pipeline, with kspm gating the merge.";
}
