//! The first-boot bundle: the files the curtin hook leaves in `maas/` of the altbootbank for ESXi's first
//! boot. Pure: the plan and MAAS's credentials in, paths and bytes out.
//!
//! - `maas/firstboot.sh`: the first-boot script, as `maas-esxi translate` prints it for the same config;
//!   the image's kickstart `%firstboot` runs it.
//! - `maas/maas-md`: the metadata helper (`maas-md.py`, Python 3.5+ standard library only: ESXi runs no
//!   native binary that is not part of an installed VIB, and its busybox wget cannot send headers).
//! - `maas/credentials`: MAAS's status endpoint and the machine's three OAuth values, as JSON, and nothing
//!   else from the config. The script passes its path, never its content, to the helper.

use crate::model::Reporting;
use crate::plan::Plan;
use crate::render;

/// The directory of the bundle, in the root of the altbootbank (`/altbootbank/maas` on the host).
pub const DIR: &str = "maas";

/// The metadata helper's source.
pub const HELPER: &str = include_str!("maas-md.py");

/// The bundle's files: paths relative to the altbootbank's root, and their bytes. Without credentials
/// (a config that is not MAAS's) the first boot configures the host and reports to no one.
pub fn files(plan: &Plan, reporting: Option<&Reporting>) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("maas/firstboot.sh", render::script(plan).into_bytes()),
        ("maas/maas-md", HELPER.as_bytes().to_vec()),
    ];
    if let Some(reporting) = reporting {
        files.push(("maas/credentials", credentials(reporting)));
    }
    files
}

/// The credentials file: the endpoint and the three OAuth values, as the helper reads them.
pub fn credentials(reporting: &Reporting) -> Vec<u8> {
    let doc = serde_json::json!({
        "endpoint": reporting.endpoint,
        "consumer_key": reporting.consumer_key,
        "token_key": reporting.token_key,
        "token_secret": reporting.token_secret,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("strings always serialize");
    text.push('\n');
    text.into_bytes()
}
