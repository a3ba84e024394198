//! `Rejected`: the error for input the image builder refuses (a weak password, a file that is not an ESXi ISO).

use std::fmt;

/// The operator's input was refused: the command exits 1, not 3. It travels inside an `anyhow::Error`;
/// find it with `error.downcast_ref::<Rejected>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// What is wrong, lowercase, naming the object.
    pub message: String,
    /// What would be accepted, if there is something useful to say.
    pub help: Option<String>,
}

impl Rejected {
    pub fn new(message: impl Into<String>) -> Self {
        Rejected {
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The message as the CLI prints it: `error: …`, then `  = help: …` when there is help.
    pub fn render(&self) -> String {
        match &self.help {
            Some(help) => format!("error: {}\n  = help: {help}\n", self.message),
            None => format!("error: {}\n", self.message),
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejected {}
