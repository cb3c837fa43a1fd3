//! Email through SMTP (`SMTP_URL`) with lettre, and the messages workflows send.

use std::time::Duration;

use kassa_domain::catalog::Money;
use kassa_domain::orders::{Order, format_money};
use kassa_domain::tenant::Tenant;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL is not usable: {0}")]
    Url(String),
    #[error("not an email address: {0}")]
    Address(String),
    #[error("the message cannot be built: {0}")]
    Build(String),
    #[error("the SMTP server did not take the message: {0}")]
    Send(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A message's subject and plain-text body.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub subject: String,
    pub body: String,
}

impl Mailer {
    /// `url`: `smtp://host:port` (plain, for local sinks), `smtp://…?tls=required` or
    /// `smtps://user:password@host` (TLS).
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from.parse().map_err(|_| MailError::Address(from.to_owned()))?;
        Ok(Self { transport, from })
    }

    /// Sends `content` to `to`, with a Message-ID that stays the same if the step repeats.
    pub async fn send(&self, to: &str, content: Content, message_id: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(content.subject)
            .message_id(Some(message_id.to_owned()))
            .header(ContentType::TEXT_PLAIN)
            .body(content.body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}

/// "Order #N confirmed": the lines, subtotal, tax and total.
pub fn order_confirmation(tenant: &Tenant, order: &Order) -> Content {
    let money = |amount: i64| format_money(&Money { amount, currency: order.currency.clone() });
    let mut body = format!("Thank you for your order at {}.\n\nOrder #{}\n\n", tenant.name, order.number);
    for line in &order.lines {
        body.push_str(&format!(
            "  {} x {} ({})  {}\n",
            line.quantity,
            line.title,
            line.sku,
            money(line.line_amount)
        ));
    }
    body.push_str(&format!("\nSubtotal: {}\n", money(order.subtotal_amount)));
    match order.tax_amount {
        Some(tax) if order.prices_include_tax => body.push_str(&format!("Tax (included): {}\n", money(tax))),
        Some(tax) => body.push_str(&format!("Tax: {}\n", money(tax))),
        None => {}
    }
    body.push_str(&format!("Total: {}\n", money(order.total_amount)));
    Content { subject: format!("Order #{} confirmed - {}", order.number, tenant.name), body }
}
