//! MITRE ATT&CK for Containers (Enterprise ATT&CK v16, containers platform): techniques a
//! misconfiguration makes available.

pub const VERSION: &str = "v16";

crate::controls! {
    Mitre;
    ESCAPE_TO_HOST = "T1611", "Escape to Host";
    DEPLOY_CONTAINER = "T1610", "Deploy Container";
    CONTAINER_ADMIN_COMMAND = "T1609", "Container Administration Command";
    UNSECURED_CREDENTIALS = "T1552", "Unsecured Credentials";
    CONTAINER_API = "T1552.007", "Unsecured Credentials: Container API";
    DISCOVERY = "T1613", "Container and Resource Discovery";
    IMPLANT_IMAGE = "T1525", "Implant Internal Image";
    RESOURCE_HIJACKING = "T1496", "Resource Hijacking";
    ENDPOINT_DOS = "T1499", "Endpoint Denial of Service";
    VALID_ACCOUNTS = "T1078", "Valid Accounts";
    STEAL_TOKEN = "T1528", "Steal Application Access Token";
    EXPLOIT_PUBLIC_APP = "T1190", "Exploit Public-Facing Application";
    LATERAL_MOVEMENT = "TA0008", "Lateral Movement";
    PRIVILEGE_ESCALATION = "TA0004", "Privilege Escalation";
    ACCOUNT_MANIPULATION = "T1098", "Account Manipulation";
    NETWORK_SNIFFING = "T1040", "Network Sniffing";
}
