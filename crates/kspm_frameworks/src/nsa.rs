//! NSA-CISA Kubernetes Hardening Guide v1.2 (August 2022). The guide has no control numbers;
//! ids are short names of its recommendations, titles cite the section.

use crate::{Control, Framework};

pub const VERSION: &str = "1.2";

macro_rules! controls {
    ($($name:ident = $id:literal, $title:literal;)*) => {
        $(pub const $name: Control = Control { framework: Framework::Nsa, id: $id, title: $title };)*
        pub const ALL: &[&Control] = &[$(&$name),*];
    };
}

controls! {
    NON_ROOT = "non-root-containers", "Pod security: use containers built to run applications as non-root users";
    IMMUTABLE_FS = "immutable-filesystem", "Pod security: run containers with immutable file systems";
    PRIVILEGED = "privileged-containers", "Pod security: prevent privileged containers";
    PRIVILEGE_ESCALATION = "privilege-escalation", "Pod security: deny privilege escalation";
    HOST_NAMESPACES = "host-namespaces", "Pod security: deny sharing of host process, IPC and network namespaces";
    HOST_PATH = "host-path", "Pod security: deny host path mounts";
    CAPABILITIES = "capabilities", "Pod security: drop unneeded Linux capabilities";
    SECCOMP = "seccomp", "Pod security: restrict system calls with seccomp";
    APPARMOR_SELINUX = "apparmor-selinux", "Pod security: use AppArmor or SELinux";
    SERVICE_ACCOUNT_TOKENS = "service-account-tokens", "Pod security: protect Pod service account tokens";
    RESOURCE_POLICIES = "resource-policies", "Network separation: use resource policies (requests and limits)";
    NETWORK_EXPOSURE = "network-exposure", "Network separation: limit exposure of services outside the cluster";
    TLS = "tls", "Network separation: encrypt traffic with TLS";
    SECRETS = "secrets", "Network separation: protect Secrets; avoid credentials in configuration";
    NAMESPACES = "namespace-separation", "Network separation: use namespaces to isolate resources";
    IMAGE_HYGIENE = "image-hygiene", "Threat model: use trusted, immutable images and scan them";
    NETWORK_POLICIES = "network-policies", "Network separation: use network policies to isolate pods";
    RBAC = "rbac", "Authentication and authorization: least-privilege RBAC";
    UPGRADES = "upgrades", "Upgrading and application security practices: keep versions current";
}
