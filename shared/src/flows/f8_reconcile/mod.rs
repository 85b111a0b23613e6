//! F8 reconciliation: SAP and Salesforce compared for a period, an exception report, optional repair.

pub mod aging;
pub mod compare;
pub mod input;
pub mod orders;
pub mod run;
pub mod standing;

pub use crate::report::model::{ExceptionKind, Period, ReconException, ReconReport, RepairSummary, Totals};
pub use input::ReconRequest;
pub use run::{RECONCILE_RECORD, ReconOutcome, Reconciler};
