//! Kubernetes Pod Security Standards, baseline and restricted profiles, as the upstream
//! PodSecurity admission plugin defines them (policy version "latest", Kubernetes 1.34).
//! Ids are `<profile>:<control>`.

pub const VERSION: &str = "v1.34";

crate::controls! {
    Pss;
    BASELINE_HOST_PROCESS = "baseline:host-process", "HostProcess: Windows pods must not run HostProcess containers";
    BASELINE_HOST_NAMESPACES = "baseline:host-namespaces", "Host Namespaces: sharing the host namespaces must be disallowed";
    BASELINE_PRIVILEGED = "baseline:privileged", "Privileged Containers: privileged pods disable most security mechanisms";
    BASELINE_CAPABILITIES = "baseline:capabilities", "Capabilities: adding capabilities beyond the default set must be disallowed";
    BASELINE_HOST_PATH_VOLUMES = "baseline:host-path-volumes", "HostPath Volumes: must be forbidden";
    BASELINE_HOST_PORTS = "baseline:host-ports", "Host Ports: should be disallowed entirely or restricted to a known list";
    BASELINE_APPARMOR = "baseline:apparmor", "AppArmor: overriding or disabling the default profile must be restricted";
    BASELINE_SELINUX = "baseline:selinux", "SELinux: setting a custom SELinux user or role, or an unusual type, must be forbidden";
    BASELINE_PROC_MOUNT = "baseline:proc-mount", "/proc Mount Type: the default /proc masks must be kept";
    BASELINE_SECCOMP = "baseline:seccomp", "Seccomp: the profile must not be explicitly set to Unconfined";
    BASELINE_SYSCTLS = "baseline:sysctls", "Sysctls: only the safe subset is allowed";
    RESTRICTED_VOLUME_TYPES = "restricted:volume-types", "Volume Types: only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret";
    RESTRICTED_PRIVILEGE_ESCALATION = "restricted:privilege-escalation", "Privilege Escalation: must not be allowed";
    RESTRICTED_RUNNING_AS_NON_ROOT = "restricted:running-as-non-root", "Running as Non-root: containers must run as non-root users";
    RESTRICTED_RUNNING_AS_NON_ROOT_USER = "restricted:running-as-non-root-user", "Running as Non-root user: containers must not set runAsUser to 0";
    RESTRICTED_SECCOMP = "restricted:seccomp", "Seccomp: the profile must be explicitly set to RuntimeDefault or Localhost";
    RESTRICTED_CAPABILITIES = "restricted:capabilities", "Capabilities: must drop ALL and may only add NET_BIND_SERVICE";
}
