//! The resource model every other kspm crate speaks.
//!
//! A manifest is parsed into a [`Node`] tree in which every value remembers its line and column,
//! so that a finding can point at the offending field. Resources wrap a tree with their identity
//! and origin; views ([`PodSpec`], [`Container`]) find pod specs wherever a kind keeps them.
//! Nothing here does I/O: the engine reads files, this crate only interprets text.

pub mod credentials;
pub mod finding;
pub mod index;
pub mod node;
pub mod path;
pub mod resource;
pub mod selector;
pub mod view;
pub mod yaml;

pub use finding::{
    Diagnostic, DiagnosticLevel, Finding, Fix, Folded, PatchOp, Risk, RiskFactor, Severity,
    Suppression, UnknownSeverity,
};
pub use index::{DerivedFacts, Index, PodSource};
pub use node::{Entry, Node, Pos, Value};
pub use path::{FieldPath, Seg, SegRef};
pub use resource::{NotAnObject, Resource, ResourceId, Source};
pub use selector::LabelSelector;
pub use view::{Container, ContainerKind, PodSpec};
pub use yaml::{Chunk, Limits, ParseError, ParsedDoc};
