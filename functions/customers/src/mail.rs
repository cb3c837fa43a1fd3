//! The mails a shopper gets: one-time codes and the already-registered notice.

use kassa_domain::customers::accounts::CodePurpose;
use kassa_domain::tenant::Tenant;
use kassa_domain::types::Email;
use kassa_http::ApiError;
use kassa_http::AppState;
use kassa_http::mail::{Content, Mailer};

/// Sends `content` to `to` through `SMTP_URL`, with a fresh Message-ID.
pub async fn send(state: &AppState, to: &Email, content: Content) -> Result<(), ApiError> {
    let mailer = Mailer::new(state.config.smtp_url.expose(), &state.config.smtp_from)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("mailer: {e}")))?;
    let message_id = format!("<{}@kassa>", uuid::Uuid::now_v7());
    mailer
        .send(to.as_str(), content, &message_id)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("mail: {e}")))
}

pub fn code(tenant: &Tenant, purpose: CodePurpose, code: &str) -> Content {
    let (subject, why) = match purpose {
        CodePurpose::VerifyEmail => {
            (format!("Your {} verification code", tenant.name), "confirm your email address")
        }
        CodePurpose::ResetPassword => {
            (format!("Reset your {} password", tenant.name), "choose a new password")
        }
    };
    Content {
        subject,
        body: format!(
            "Your code: {code}\n\nEnter it to {why} at {}. It is valid for 15 minutes.\n\n\
             If you did not ask for it, ignore this mail.\n",
            tenant.name
        ),
    }
}

pub fn already_registered(tenant: &Tenant) -> Content {
    Content {
        subject: format!("You already have an account at {}", tenant.name),
        body: format!(
            "Someone (probably you) tried to sign up at {} with this address, which already has an \
             account.\n\nSign in with your password, or reset it if you forgot it.\n",
            tenant.name
        ),
    }
}
