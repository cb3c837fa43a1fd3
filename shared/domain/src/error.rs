//! The one domain error. The HTTP layer maps each variant to a problem+json response.

use crate::codes::ErrorCode;
use std::fmt;

/// One reason why an input was refused, pointing into the input with a JSON Pointer
/// (RFC 6901) so that a client can show the message next to the right field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Violation {
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

/// Every violation found in one input: validation reports them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn push(&mut self, pointer: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(Violation { pointer: pointer.into(), code, message: message.into() });
    }

    /// Records the error of a parse, if any, and hands back the parsed value.
    pub fn check<T>(&mut self, pointer: &str, parsed: Result<T, Violation>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(Violation { pointer: pointer.to_owned(), ..violation });
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|v| format!("{}: {}", v.pointer, v.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("invalid input: {0}")]
    Validation(Violations),
    /// A uniqueness rule was broken, e.g. a handle that another record already uses.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// The resource is in a state that does not allow the action (stock too low, a run that
    /// is not failed, …).
    #[error("{message}")]
    InvalidState { code: ErrorCode, message: String },
    /// Something that should not happen did (a lost lease, an unsafe database login): a
    /// server error, never the client's fault.
    #[error("{0}")]
    Unexpected(String),
    /// The record changed since the version the caller based its change on.
    #[error("{resource} was changed by someone else (now version {current})")]
    Stale { resource: &'static str, current: i64 },
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// How a named database constraint surfaces to clients.
pub enum Constraint {
    /// A uniqueness rule: 409 with this code and message.
    Unique(&'static str, ErrorCode, &'static str),
    /// A reference to a row that does not exist (in this tenant): a 422 violation at the
    /// pointer.
    Reference(&'static str, &'static str, &'static str),
    /// A row still referred to elsewhere: 409 with this code and message.
    InUse(&'static str, ErrorCode, &'static str),
}

impl DomainError {
    /// Maps a violated constraint to a client error by the constraint's name; any other
    /// database error stays a database error.
    pub fn from_constraint(err: sqlx::Error, constraints: &[Constraint]) -> Self {
        if let sqlx::Error::Database(db) = &err
            && let Some(name) = db.constraint()
        {
            for constraint in constraints {
                match *constraint {
                    Constraint::Unique(c, code, message) if c == name && db.is_unique_violation() => {
                        return DomainError::Conflict { code, message: message.to_owned() };
                    }
                    Constraint::InUse(c, code, message) if c == name && db.is_foreign_key_violation() => {
                        return DomainError::Conflict { code, message: message.to_owned() };
                    }
                    Constraint::Reference(c, pointer, message)
                        if c == name && db.is_foreign_key_violation() =>
                    {
                        let mut violations = Violations::default();
                        violations.push(pointer, "unknown_reference", message);
                        return DomainError::Validation(violations);
                    }
                    _ => {}
                }
            }
        }
        DomainError::Database(err)
    }
}

impl From<Violation> for DomainError {
    fn from(violation: Violation) -> Self {
        DomainError::Validation(Violations(vec![violation]))
    }
}

/// Builds a violation for a value before its pointer is known (see [`Violations::check`]).
pub fn invalid(code: &'static str, message: impl Into<String>) -> Violation {
    Violation { pointer: String::new(), code, message: message.into() }
}
