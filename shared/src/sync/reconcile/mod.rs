//! F8 reconciliation: SAP and Salesforce compared for a period, an exception report, optional repair.

pub mod compare;
pub mod input;
pub mod model;
pub mod render;
pub mod run;

pub use input::ReconRequest;
pub use model::{ExceptionKind, Period, ReconException, ReconReport, RepairSummary, Totals};
pub use run::{ReconOutcome, Reconciler};
