//! What both buses' consumers share: a handler's verdict and the retry policy.

/// What a consumer made of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// Worth another try later (a dependency was down, …).
    Failed(String),
    /// Never going to work: dead-letter it now.
    Poison(String),
}

/// How often and how late a failed event is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Deliveries in all, the first included.
    pub max_attempts: u32,
    pub delay: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, delay: std::time::Duration::from_secs(10) }
    }
}
