//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: one agent holds
//! the lease and renews it; the others read it every retry period and take it over once it has
//! not been renewed for the lease duration. Expiry is judged by when *this* agent saw the lease
//! last change, never by the holder's clock, so clock skew between nodes does not matter.
//! Writes are optimistic (the resourceVersion read), so two agents never both win.
//!
//! The leader that cannot renew within two thirds of the duration stops writing at once (the
//! others wait the full duration before taking over); on shutdown it releases the lease so a
//! follower takes over immediately.

use std::time::{Duration, Instant, SystemTime};

use kspm_cluster::live::Session;
use kspm_cluster::write::{WriteError, WriteKind};
use serde_json::{Value as Json, json};

const LEASE: WriteKind = WriteKind {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    namespaced: true,
};

/// Which lease, and who this agent is.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    /// Unique per agent: the pod name (`$POD_NAME`), else host name and process id.
    pub identity: String,
    /// How long a lease that is not renewed stays held.
    pub duration: Duration,
}

impl LeaseConfig {
    /// How often the leader renews and a follower looks.
    pub fn retry(&self) -> Duration {
        (self.duration / 5).max(Duration::from_millis(200))
    }

    /// How long the leader goes on without a successful renewal before it stops writing.
    fn renew_deadline(&self) -> Duration {
        self.duration * 2 / 3
    }
}

/// Who holds the lease after an attempt to take or keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leader {
    /// This agent.
    This,
    /// Another agent, as the log names it: its identity, or how the lease went to it.
    Other(String),
}

/// The state of one agent's election.
pub struct Elector {
    config: LeaseConfig,
    /// The holder and renew time last seen, and when they were first seen so.
    observed: Option<(String, String, Instant)>,
}

impl Elector {
    pub fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            observed: None,
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// One attempt to take or keep the lease: who holds it now.
    pub async fn try_acquire(&mut self, session: &Session) -> Result<Leader, WriteError> {
        let c = &self.config;
        let now = micro_time(SystemTime::now());
        let seconds = c.duration.as_secs().max(1);
        let Some(mut lease) = session.get(&LEASE, Some(&c.namespace), &c.name).await? else {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": c.name, "namespace": c.namespace},
                "spec": {
                    "holderIdentity": c.identity,
                    "leaseDurationSeconds": seconds,
                    "acquireTime": now,
                    "renewTime": now,
                    "leaseTransitions": 0,
                },
            });
            return match session.create(&LEASE, Some(&c.namespace), &lease).await {
                Ok(_) => Ok(Leader::This),
                Err(WriteError::Conflict(_)) => {
                    Ok(Leader::Other("another agent (just created)".into()))
                }
                Err(e) => Err(e),
            };
        };
        let spec = &lease["spec"];
        let holder = spec["holderIdentity"].as_str().unwrap_or("").to_owned();
        let renewed = spec["renewTime"].as_str().unwrap_or("").to_owned();
        let held_for = spec["leaseDurationSeconds"]
            .as_u64()
            .map_or(c.duration, Duration::from_secs);
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|(h, r, _)| *h != holder || *r != renewed);
        if changed {
            self.observed = Some((holder.clone(), renewed, Instant::now()));
        }
        let seen = self.observed.as_ref().map_or_else(Instant::now, |o| o.2);
        if !holder.is_empty() && holder != c.identity && seen.elapsed() < held_for {
            return Ok(Leader::Other(holder));
        }
        let transitions = spec["leaseTransitions"].as_i64().unwrap_or(0);
        let spec = lease["spec"].as_object_mut();
        let Some(spec) = spec else {
            return Err(WriteError::Api(format!(
                "lease {}/{} has no spec",
                c.namespace, c.name
            )));
        };
        if holder != c.identity {
            spec.insert("acquireTime".into(), json!(now));
            spec.insert("leaseTransitions".into(), json!(transitions + 1));
        }
        spec.insert("holderIdentity".into(), json!(c.identity));
        spec.insert("leaseDurationSeconds".into(), json!(seconds));
        spec.insert("renewTime".into(), json!(now));
        match session.replace(&LEASE, Some(&c.namespace), &lease).await {
            Ok(_) => Ok(Leader::This),
            Err(WriteError::Conflict(_)) => {
                Ok(Leader::Other(format!("{holder} (changed while taken)")))
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps renewing; returns (with why) once the lease is lost or could not be renewed within
    /// the renew deadline. Runs until then.
    pub async fn keep(mut self, session: std::sync::Arc<Session>) -> String {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry()).await;
            match self.try_acquire(&session).await {
                Ok(Leader::This) => renewed = Instant::now(),
                Ok(Leader::Other(holder)) => return format!("the lease is held by {holder} now"),
                Err(e) => {
                    if renewed.elapsed() >= self.config.renew_deadline() {
                        return format!("cannot renew the lease: {e}");
                    }
                }
            }
        }
    }

    /// Gives the lease up (holder cleared), so that a follower takes over at once.
    pub async fn release(config: &LeaseConfig, session: &Session) -> Result<(), WriteError> {
        let Some(mut lease) = session
            .get(&LEASE, Some(&config.namespace), &config.name)
            .await?
        else {
            return Ok(());
        };
        if lease["spec"]["holderIdentity"].as_str() != Some(config.identity.as_str()) {
            return Ok(());
        }
        lease["spec"]["holderIdentity"] = Json::Null;
        lease["spec"]["leaseDurationSeconds"] = json!(1);
        session
            .replace(&LEASE, Some(&config.namespace), &lease)
            .await
            .map(drop)
    }
}

/// RFC 3339 with microseconds, as a Lease's `MicroTime` fields want: `2026-12-07T05:01:02.000003Z`.
fn micro_time(t: SystemTime) -> String {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// This agent's identity: `$POD_NAME` in a pod (the chart sets it), else `host-pid`.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kspm".to_owned());
    format!("{host}-{}", std::process::id())
}

/// The namespace of this pod's service account, when running in a pod.
pub fn pod_namespace() -> Option<String> {
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_time_is_rfc3339_with_microseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_619_662_000_003);
        assert_eq!(micro_time(t), "2026-12-07T05:01:02.000003Z");
        assert_eq!(
            micro_time(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_hours(264_384);
        assert_eq!(micro_time(leap), "2000-02-29T00:00:00.000000Z");
    }
}
