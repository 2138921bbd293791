//! GDPR (Regulation (EU) 2016/679), Article 25 (data protection by design and by default) and
//! Article 32 (security of processing): the technical measures Kubernetes configuration shows.

pub const VERSION: &str = "2016/679";

crate::controls! {
    Gdpr;
    ART25_1 = "Art. 25(1)", "Data protection by design: appropriate technical measures built into processing", manual "Check that the data protection impact assessment names the workloads and data stores that process personal data; kspm cannot see what data a workload handles.";
    ART25_2 = "Art. 25(2)", "Data protection by default: personal data not made accessible to an indefinite number of people";
    ART32_1_A = "Art. 32(1)(a)", "Pseudonymisation and encryption of personal data";
    ART32_1_B = "Art. 32(1)(b)", "Ongoing confidentiality, integrity, availability and resilience of processing systems";
    ART32_1_C = "Art. 32(1)(c)", "Ability to restore availability and access to personal data in a timely manner", manual "Check that backups of etcd and of the volumes holding personal data exist and that a restore within the stated time has been tested.";
    ART32_1_D = "Art. 32(1)(d)", "Regular testing and evaluation of the effectiveness of security measures", manual "Check that kspm (or an equivalent) runs on a schedule and in CI, and that its results are reviewed and acted on; keep the reports as the record.";
}
