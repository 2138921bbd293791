//! Pod Security Standards (baseline and restricted) and CIS 5.2.x: what a pod may ask of its node.

pub mod added_capability;
pub mod apparmor_unconfined;
pub mod baseline_disallowed_capability;
pub mod bidirectional_mount_propagation;
pub mod capabilities_not_dropped;
pub mod container_runtime_socket_mount;
pub mod host_ipc;
pub mod host_network;
pub mod host_path_volume;
pub mod host_pid;
pub mod host_port;
pub mod namespace_without_pod_security;
pub mod net_raw_not_dropped;
pub mod privilege_escalation_allowed;
pub mod privileged_container;
pub mod restricted_added_capability;
pub mod restricted_volume_type;
pub mod root_group;
pub mod run_as_non_root_not_set;
pub mod run_as_root_user;
pub mod seccomp_profile_missing;
pub mod seccomp_unconfined;
pub mod selinux_custom_options;
pub mod sensitive_host_path;
pub mod share_process_namespace;
pub mod unmasked_proc_mount;
pub mod unsafe_sysctl;
pub mod windows_host_process;
pub mod writable_host_path;
pub mod writable_root_filesystem;

pub(crate) static RULES: &[&crate::Rule] = &[
    &host_pid::RULE,
    &host_ipc::RULE,
    &host_network::RULE,
    &privileged_container::RULE,
    &baseline_disallowed_capability::RULE,
    &capabilities_not_dropped::RULE,
    &restricted_added_capability::RULE,
    &added_capability::RULE,
    &net_raw_not_dropped::RULE,
    &host_path_volume::RULE,
    &host_port::RULE,
    &apparmor_unconfined::RULE,
    &selinux_custom_options::RULE,
    &unmasked_proc_mount::RULE,
    &seccomp_unconfined::RULE,
    &seccomp_profile_missing::RULE,
    &unsafe_sysctl::RULE,
    &restricted_volume_type::RULE,
    &privilege_escalation_allowed::RULE,
    &run_as_non_root_not_set::RULE,
    &run_as_root_user::RULE,
    &windows_host_process::RULE,
    &share_process_namespace::RULE,
    &root_group::RULE,
    &container_runtime_socket_mount::RULE,
    &sensitive_host_path::RULE,
    &writable_root_filesystem::RULE,
    &bidirectional_mount_propagation::RULE,
    &namespace_without_pod_security::RULE,
    &writable_host_path::RULE,
];
