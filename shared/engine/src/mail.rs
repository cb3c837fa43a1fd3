//! The messages workflows send (through [`kassa_runtime::mail::Mailer`]).

use kassa_domain::catalog::Money;
use kassa_domain::orders::{Order, format_money};
use kassa_domain::tenant::Tenant;
pub use kassa_runtime::mail::{Content, MailError, Mailer};

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
