//! The live dashboard: one page, its scripts and its style sheet, served with a strict
//! Content-Security-Policy (no inline code, no framing, requests only to this origin). No
//! third-party code: the charts are inline SVG drawn by `dashboard-charts.js`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The dashboard page.
pub const DASHBOARD_HTML: &str = include_str!("../dashboard/index.html");
/// Its script: reads the token from the URL's fragment (`#token=…`) or the text box.
pub const DASHBOARD_JS: &str = include_str!("../dashboard/dashboard.js");
/// Its style sheet.
pub const DASHBOARD_CSS: &str = include_str!("../dashboard/dashboard.css");
/// Its words in English and Korean, and the language choice.
pub const DASHBOARD_I18N_JS: &str = include_str!("../dashboard/i18n.js");
/// Its pictures (per-day bars with the 8-hour cap, the admin's histogram), as inline SVG.
pub const DASHBOARD_CHARTS_JS: &str = include_str!("../dashboard/charts.js");
/// Its icon (so that browsers do not ask for `/favicon.ico`).
pub const DASHBOARD_ICON: &str = include_str!("../dashboard/favicon.svg");
/// The admin's view.
pub const DASHBOARD_ADMIN_JS: &str = include_str!("../dashboard/admin.js");

/// Only this origin's script, style and API; nothing may frame the page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", DASHBOARD_HTML)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_JS)
}

pub(super) async fn i18n() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_I18N_JS)
}

pub(super) async fn charts() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_CHARTS_JS)
}

pub(super) async fn admin() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_ADMIN_JS)
}

pub(super) async fn icon() -> Response {
    asset("image/svg+xml", DASHBOARD_ICON)
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", DASHBOARD_CSS)
}
