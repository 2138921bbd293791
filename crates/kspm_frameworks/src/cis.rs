//! CIS Kubernetes Benchmark v1.10.0, all five sections. Titles are paraphrased.
//!
//! Sections 1 (control plane files and flags), 2 (etcd) and 4 (worker nodes) are judged from
//! static pod manifests, KubeletConfiguration files and, with `kspm node`, from the node's own
//! files; section 5 from the manifests of the workloads. Items the benchmark itself scores as
//! manual stay manual here unless a rule can judge them without guessing.

pub const VERSION: &str = "1.10.0";

crate::controls! {
    Cis;
    // 1.1 Control plane node configuration files
    C1_1_1 = "1.1.1", "API server pod specification file permissions are 600 or stricter";
    C1_1_2 = "1.1.2", "API server pod specification file is owned by root:root";
    C1_1_3 = "1.1.3", "Controller manager pod specification file permissions are 600 or stricter";
    C1_1_4 = "1.1.4", "Controller manager pod specification file is owned by root:root";
    C1_1_5 = "1.1.5", "Scheduler pod specification file permissions are 600 or stricter";
    C1_1_6 = "1.1.6", "Scheduler pod specification file is owned by root:root";
    C1_1_7 = "1.1.7", "etcd pod specification file permissions are 600 or stricter";
    C1_1_8 = "1.1.8", "etcd pod specification file is owned by root:root";
    C1_1_9 = "1.1.9", "Container Network Interface file permissions are 600 or stricter";
    C1_1_10 = "1.1.10", "Container Network Interface files are owned by root:root";
    C1_1_11 = "1.1.11", "etcd data directory permissions are 700 or stricter";
    C1_1_12 = "1.1.12", "etcd data directory is owned by etcd:etcd";
    C1_1_13 = "1.1.13", "Default administrative credential files (admin.conf, super-admin.conf) have permissions 600";
    C1_1_14 = "1.1.14", "Default administrative credential files are owned by root:root";
    C1_1_15 = "1.1.15", "scheduler.conf permissions are 600 or stricter";
    C1_1_16 = "1.1.16", "scheduler.conf is owned by root:root";
    C1_1_17 = "1.1.17", "controller-manager.conf permissions are 600 or stricter";
    C1_1_18 = "1.1.18", "controller-manager.conf is owned by root:root";
    C1_1_19 = "1.1.19", "Kubernetes PKI directory and files are owned by root:root";
    C1_1_20 = "1.1.20", "Kubernetes PKI certificate files have permissions 600 or stricter";
    C1_1_21 = "1.1.21", "Kubernetes PKI key files have permissions 600";
    // 1.2 API server
    C1_2_1 = "1.2.1", "API server: --anonymous-auth is false";
    C1_2_2 = "1.2.2", "API server: --token-auth-file is not set";
    C1_2_3 = "1.2.3", "API server: the DenyServiceExternalIPs admission plugin is enabled", manual "Check whether any Service legitimately needs spec.externalIPs; if none does, add DenyServiceExternalIPs to --enable-admission-plugins (kspm's service-external-ips rule flags the Services that use them).";
    C1_2_4 = "1.2.4", "API server: --kubelet-client-certificate and --kubelet-client-key are set";
    C1_2_5 = "1.2.5", "API server: --kubelet-certificate-authority is set";
    C1_2_6 = "1.2.6", "API server: --authorization-mode does not include AlwaysAllow";
    C1_2_7 = "1.2.7", "API server: --authorization-mode includes Node";
    C1_2_8 = "1.2.8", "API server: --authorization-mode includes RBAC";
    C1_2_9 = "1.2.9", "API server: the EventRateLimit admission plugin is enabled", manual "Decide on event rate limits for the cluster, write an admission configuration for EventRateLimit and check it is passed with --admission-control-config-file.";
    C1_2_10 = "1.2.10", "API server: the AlwaysAdmit admission plugin is not enabled";
    C1_2_11 = "1.2.11", "API server: the AlwaysPullImages admission plugin is enabled", manual "Check whether tenants share nodes and private images; if so, enable AlwaysPullImages so that cached images are not reused without credentials (it adds registry load and a registry dependency).";
    C1_2_12 = "1.2.12", "API server: the ServiceAccount admission plugin is not disabled";
    C1_2_13 = "1.2.13", "API server: the NamespaceLifecycle admission plugin is not disabled";
    C1_2_14 = "1.2.14", "API server: the NodeRestriction admission plugin is enabled";
    C1_2_15 = "1.2.15", "API server: --profiling is false";
    C1_2_16 = "1.2.16", "API server: --audit-log-path is set";
    C1_2_17 = "1.2.17", "API server: --audit-log-maxage is 30 or as appropriate";
    C1_2_18 = "1.2.18", "API server: --audit-log-maxbackup is 10 or as appropriate";
    C1_2_19 = "1.2.19", "API server: --audit-log-maxsize is 100 or as appropriate";
    C1_2_20 = "1.2.20", "API server: --request-timeout is set as appropriate", manual "Check that --request-timeout (default 60s) suits the cluster: long enough for large list calls, short enough to bound held connections.";
    C1_2_21 = "1.2.21", "API server: --service-account-lookup is true";
    C1_2_22 = "1.2.22", "API server: --service-account-key-file is set";
    C1_2_23 = "1.2.23", "API server: --etcd-certfile and --etcd-keyfile are set";
    C1_2_24 = "1.2.24", "API server: --tls-cert-file and --tls-private-key-file are set";
    C1_2_25 = "1.2.25", "API server: --client-ca-file is set";
    C1_2_26 = "1.2.26", "API server: --etcd-cafile is set";
    C1_2_27 = "1.2.27", "API server: --encryption-provider-config is set as appropriate";
    C1_2_28 = "1.2.28", "Encryption providers are configured appropriately", manual "Open the EncryptionConfiguration file and check that the first provider for Secrets is kms (v2), aescbc, aesgcm or secretbox, not identity.";
    C1_2_29 = "1.2.29", "API server uses only strong cryptographic ciphers";
    // 1.3 Controller manager
    C1_3_1 = "1.3.1", "Controller manager: --terminated-pod-gc-threshold is set as appropriate", manual "Check that --terminated-pod-gc-threshold is low enough that terminated pods do not pile up in etcd (the default 12500 suits most clusters).";
    C1_3_2 = "1.3.2", "Controller manager: --profiling is false";
    C1_3_3 = "1.3.3", "Controller manager: --use-service-account-credentials is true";
    C1_3_4 = "1.3.4", "Controller manager: --service-account-private-key-file is set";
    C1_3_5 = "1.3.5", "Controller manager: --root-ca-file is set";
    C1_3_6 = "1.3.6", "Controller manager: the RotateKubeletServerCertificate feature gate is not disabled";
    C1_3_7 = "1.3.7", "Controller manager: --bind-address is 127.0.0.1";
    // 1.4 Scheduler
    C1_4_1 = "1.4.1", "Scheduler: --profiling is false";
    C1_4_2 = "1.4.2", "Scheduler: --bind-address is 127.0.0.1";
    // 2 etcd
    C2_1 = "2.1", "etcd: --cert-file and --key-file are set";
    C2_2 = "2.2", "etcd: --client-cert-auth is true";
    C2_3 = "2.3", "etcd: --auto-tls is not true";
    C2_4 = "2.4", "etcd: --peer-cert-file and --peer-key-file are set";
    C2_5 = "2.5", "etcd: --peer-client-cert-auth is true";
    C2_6 = "2.6", "etcd: --peer-auto-tls is not true";
    C2_7 = "2.7", "etcd uses its own certificate authority";
    // 3 Control plane configuration
    C3_1_1 = "3.1.1", "Client certificate authentication is not used for users", manual "Check how people authenticate: client certificates cannot be revoked; prefer OIDC or your cloud's identity integration, and keep certificates for components.";
    C3_1_2 = "3.1.2", "Service account token authentication is not used for users", manual "Check that no person uses a service account token (kubeconfigs handed out with a token secret); give people their own identities.";
    C3_1_3 = "3.1.3", "Bootstrap token authentication is not used for users", manual "Check that bootstrap tokens (kubeadm token list) are only used to join nodes and expire.";
    C3_2_1 = "3.2.1", "A minimal audit policy is created";
    C3_2_2 = "3.2.2", "The audit policy covers key security concerns", manual "Read the audit policy: it should log access to Secrets, ConfigMaps and TokenReviews at Metadata level only, changes to Pods and Deployments, and pods/exec, pods/portforward, pods/proxy and services/proxy.";
    // 4.1 Worker node configuration files
    C4_1_1 = "4.1.1", "kubelet service file permissions are 600 or stricter";
    C4_1_2 = "4.1.2", "kubelet service file is owned by root:root";
    C4_1_3 = "4.1.3", "kube-proxy kubeconfig, if present, has permissions 600 or stricter";
    C4_1_4 = "4.1.4", "kube-proxy kubeconfig, if present, is owned by root:root";
    C4_1_5 = "4.1.5", "kubelet kubeconfig (kubelet.conf) permissions are 600 or stricter";
    C4_1_6 = "4.1.6", "kubelet kubeconfig (kubelet.conf) is owned by root:root";
    C4_1_7 = "4.1.7", "Client certificate authority file permissions are 600 or stricter";
    C4_1_8 = "4.1.8", "Client certificate authority file is owned by root:root";
    C4_1_9 = "4.1.9", "kubelet config.yaml, if used, has permissions 600 or stricter";
    C4_1_10 = "4.1.10", "kubelet config.yaml, if used, is owned by root:root";
    // 4.2 Kubelet
    C4_2_1 = "4.2.1", "kubelet: anonymous authentication is disabled";
    C4_2_2 = "4.2.2", "kubelet: authorization mode is not AlwaysAllow";
    C4_2_3 = "4.2.3", "kubelet: a client CA file is set";
    C4_2_4 = "4.2.4", "kubelet: the read-only port is 0";
    C4_2_5 = "4.2.5", "kubelet: the streaming connection idle timeout is not 0";
    C4_2_6 = "4.2.6", "kubelet: makeIPTablesUtilChains is true";
    C4_2_7 = "4.2.7", "kubelet: --hostname-override is not set", manual "Read the kubelet command line (ps -ef | grep kubelet, or the systemd unit and its drop-ins) and check there is no --hostname-override; some cloud providers need it, which is why the benchmark leaves it manual.";
    C4_2_8 = "4.2.8", "kubelet: eventRecordQPS captures events appropriately", manual "Check that eventRecordQPS is not so low that security-relevant events are dropped (0 means unlimited; the default 50 suits most nodes).";
    C4_2_9 = "4.2.9", "kubelet: TLS certificate and private key are set as appropriate", manual "Check that the kubelet serves with a certificate the API server can verify: tlsCertFile and tlsPrivateKeyFile, or serverTLSBootstrap with approved CSRs.";
    C4_2_10 = "4.2.10", "kubelet: rotateCertificates is not false";
    C4_2_11 = "4.2.11", "kubelet: the RotateKubeletServerCertificate feature gate is not disabled";
    C4_2_12 = "4.2.12", "kubelet uses only strong cryptographic ciphers";
    C4_2_13 = "4.2.13", "kubelet: a limit is set on pod PIDs";
    // 4.3 kube-proxy
    C4_3_1 = "4.3.1", "kube-proxy metrics are bound to localhost";
    // 5.1 RBAC and service accounts
    C5_1_1 = "5.1.1", "The cluster-admin role is only used where required";
    C5_1_2 = "5.1.2", "Access to Secrets is minimized";
    C5_1_3 = "5.1.3", "Wildcards are minimized in Roles and ClusterRoles";
    C5_1_4 = "5.1.4", "Access to create pods is minimized";
    C5_1_5 = "5.1.5", "Default service accounts are not actively used";
    C5_1_6 = "5.1.6", "Service account tokens are only mounted where necessary";
    C5_1_7 = "5.1.7", "The system:masters group is not used";
    C5_1_8 = "5.1.8", "Bind, impersonate and escalate permissions are limited";
    C5_1_9 = "5.1.9", "Access to create persistent volumes is minimized";
    C5_1_10 = "5.1.10", "Access to the proxy sub-resource of nodes is minimized";
    C5_1_11 = "5.1.11", "Access to approve certificate signing requests is minimized";
    C5_1_12 = "5.1.12", "Access to webhook configuration objects is minimized";
    C5_1_13 = "5.1.13", "Access to create service account tokens is minimized";
    // 5.2 Pod Security Standards
    C5_2_1 = "5.2.1", "The cluster has at least one active policy control mechanism";
    C5_2_2 = "5.2.2", "Admission of privileged containers is minimized";
    C5_2_3 = "5.2.3", "Admission of containers sharing the host process ID namespace is minimized";
    C5_2_4 = "5.2.4", "Admission of containers sharing the host IPC namespace is minimized";
    C5_2_5 = "5.2.5", "Admission of containers sharing the host network namespace is minimized";
    C5_2_6 = "5.2.6", "Admission of containers with allowPrivilegeEscalation is minimized";
    C5_2_7 = "5.2.7", "Admission of root containers is minimized";
    C5_2_8 = "5.2.8", "Admission of containers with the NET_RAW capability is minimized";
    C5_2_9 = "5.2.9", "Admission of containers with added capabilities is minimized";
    C5_2_10 = "5.2.10", "Admission of containers with capabilities assigned is minimized";
    C5_2_11 = "5.2.11", "Admission of Windows HostProcess containers is minimized";
    C5_2_12 = "5.2.12", "Admission of HostPath volumes is minimized";
    C5_2_13 = "5.2.13", "Admission of containers using host ports is minimized";
    // 5.3 Network policies and CNI
    C5_3_1 = "5.3.1", "The CNI in use supports NetworkPolicies", manual "Check that the cluster's network plugin enforces NetworkPolicy (Calico, Cilium, Antrea, ... yes; flannel alone no): a policy the CNI ignores protects nothing.";
    C5_3_2 = "5.3.2", "Every namespace has NetworkPolicies defined";
    // 5.4 Secrets management
    C5_4_1 = "5.4.1", "Secrets are mounted as files rather than passed as environment variables";
    C5_4_2 = "5.4.2", "External secret storage is considered", manual "Check whether secrets should live in an external store (Vault, a cloud secret manager) synchronised or injected at run time, with its own audit and rotation.";
    // 5.5 Extensible admission control
    C5_5_1 = "5.5.1", "Image provenance is configured through admission control", manual "Check that an admission controller (ImagePolicyWebhook, Kyverno, Gatekeeper, Sigstore policy-controller) only admits images from trusted registries or with valid signatures.";
    // 5.7 General policies
    C5_7_1 = "5.7.1", "Administrative boundaries between resources use namespaces", manual "Check that teams and applications have their own namespaces and that access is granted per namespace.";
    C5_7_2 = "5.7.2", "The seccomp profile is set to RuntimeDefault in pod definitions";
    C5_7_3 = "5.7.3", "A security context is applied to pods and containers";
    C5_7_4 = "5.7.4", "The default namespace is not used";
}
