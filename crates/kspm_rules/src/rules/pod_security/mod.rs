//! Pod Security Standards (baseline and restricted) and CIS 5.2.x: what a pod may ask of its node.

pub mod host_pid;
pub mod privileged_container;

pub(crate) static RULES: &[&crate::Rule] = &[&host_pid::RULE, &privileged_container::RULE];
