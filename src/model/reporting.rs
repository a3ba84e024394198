//! Where the deployed host reports to MAAS, and the OAuth token it signs with.

use std::fmt;

/// MAAS's status endpoint and the OAuth 1.0 token of the machine. MAAS signs with an empty consumer
/// secret, so these three values are the whole credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Reporting {
    /// `http://<rack>:5248/MAAS/metadata/status/<system_id>`; the metadata service is what comes before
    /// `status/`.
    pub endpoint: String,
    pub consumer_key: String,
    pub token_key: String,
    pub token_secret: String,
}

/// Shows the endpoint only: the token must not end up in a log or a test failure.
impl fmt::Debug for Reporting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporting")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}
