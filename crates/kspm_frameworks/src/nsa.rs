//! NSA-CISA Kubernetes Hardening Guide v1.2 (August 2022). The guide has no control numbers;
//! ids are short names of its recommendations, titles cite the section.

pub const VERSION: &str = "1.2";

crate::controls! {
    Nsa;
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
    CONTROL_PLANE = "control-plane-hardening", "Network separation: harden the control plane (TLS everywhere, no insecure or profiling endpoints, local-only bind addresses)";
    ETCD = "etcd-protection", "Network separation: protect etcd with TLS client and peer authentication";
    KUBELET = "kubelet-hardening", "Network separation and authentication: no anonymous or unauthorised access to the kubelet";
    AUTHENTICATION = "authentication-authorization", "Authentication and authorization: authenticate every request and enable RBAC";
    AUDIT_LOGGING = "audit-logging", "Audit logging and threat detection: enable and retain Kubernetes audit logs";
    NODE_FILES = "node-file-protection", "Worker and control plane node hardening: restrict access to configuration and credential files";
}
