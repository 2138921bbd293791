//! CIS Kubernetes Benchmark v1.10.0, section 5 (policies) — the controls judged from manifests.
//! Sections 1-4 (control plane and nodes) are checked from node files, a later addition.

use crate::{Control, Framework};

pub const VERSION: &str = "1.10.0";

macro_rules! controls {
    ($($name:ident = $id:literal, $title:literal;)*) => {
        $(pub const $name: Control = Control { framework: Framework::Cis, id: $id, title: $title };)*
        pub const ALL: &[&Control] = &[$(&$name),*];
    };
}

controls! {
    C5_1_1 = "5.1.1", "Ensure that the cluster-admin role is only used where required";
    C5_1_2 = "5.1.2", "Minimize access to secrets";
    C5_1_3 = "5.1.3", "Minimize wildcard use in Roles and ClusterRoles";
    C5_1_4 = "5.1.4", "Minimize access to create pods";
    C5_1_5 = "5.1.5", "Ensure that default service accounts are not actively used";
    C5_1_6 = "5.1.6", "Ensure that Service Account Tokens are only mounted where necessary";
    C5_1_7 = "5.1.7", "Avoid use of system:masters group";
    C5_1_8 = "5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster";
    C5_1_9 = "5.1.9", "Minimize access to create persistent volumes";
    C5_1_10 = "5.1.10", "Minimize access to the proxy sub-resource of nodes";
    C5_1_11 = "5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects";
    C5_1_12 = "5.1.12", "Minimize access to webhook configuration objects";
    C5_1_13 = "5.1.13", "Minimize access to the service account token creation";
    C5_2_1 = "5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place";
    C5_2_2 = "5.2.2", "Minimize the admission of privileged containers";
    C5_2_3 = "5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace";
    C5_2_4 = "5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace";
    C5_2_5 = "5.2.5", "Minimize the admission of containers wishing to share the host network namespace";
    C5_2_6 = "5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation";
    C5_2_7 = "5.2.7", "Minimize the admission of root containers";
    C5_2_8 = "5.2.8", "Minimize the admission of containers with the NET_RAW capability";
    C5_2_9 = "5.2.9", "Minimize the admission of containers with added capabilities";
    C5_2_10 = "5.2.10", "Minimize the admission of containers with capabilities assigned";
    C5_2_11 = "5.2.11", "Minimize the admission of Windows HostProcess containers";
    C5_2_12 = "5.2.12", "Minimize the admission of HostPath volumes";
    C5_2_13 = "5.2.13", "Minimize the admission of containers which use HostPorts";
    C5_3_2 = "5.3.2", "Ensure that all Namespaces have Network Policies defined";
    C5_4_1 = "5.4.1", "Prefer using Secrets as files over Secrets as environment variables";
    C5_7_2 = "5.7.2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions";
    C5_7_3 = "5.7.3", "Apply SecurityContext to your Pods and Containers";
    C5_7_4 = "5.7.4", "The default namespace should not be used";
}
