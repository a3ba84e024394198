//! `vim-cmd hostsvc/datastore/rename OLD NEW`: the host agent's datastore rename, the one way to rename a
//! VMFS datastore from the ESXi shell. It relabels the volume; its partitions and UUID stay.
//!
//! The fault names are the vSphere API's (`vim.fault.NotFound`, `DuplicateName`, `InvalidName`); the
//! surrounding text and the status 1 are the simulator's reconstruction.

use super::Storage;
use crate::tool::Outcome;

/// The host agent commands the simulator knows, each with the number of arguments it takes.
const COMMANDS: &[(&str, usize)] = &[("hostsvc/datastore/rename", 2)];

/// The kind of a call and whether it changes the host.
pub fn classify(argv: &[String]) -> (String, bool) {
    let command = argv.first().map(String::as_str).unwrap_or_default();
    let known = COMMANDS.iter().any(|(c, _)| *c == command);
    (format!("vim-cmd {command}").trim_end().to_string(), known)
}

pub fn run(storage: &mut Storage, argv: &[String]) -> Outcome {
    let Some((command, args)) = argv.split_first() else {
        return fault("Usage: vim-cmd [options] <command> [args]", "");
    };
    let Some((_, arity)) = COMMANDS.iter().find(|(c, _)| c == command) else {
        return fault(&format!("Unknown command: '{command}'"), "");
    };
    if args.len() != *arity {
        return fault("Usage: rename oldname newname", "");
    }
    let (old, new) = (&args[0], &args[1]);
    let Some(i) = storage
        .volumes
        .iter()
        .position(|v| v.mounted && v.is_vmfs() && &v.label == old)
    else {
        return fault(
            "(vim.fault.NotFound)",
            "The object or item referred to could not be found.",
        );
    };
    if new.is_empty() || new.contains('/') {
        return fault(
            "(vim.fault.InvalidName)",
            &format!("The name '{new}' is not valid."),
        );
    }
    if storage
        .volumes
        .iter()
        .any(|v| v.mounted && &v.label == new && &v.label != old)
    {
        return fault(
            "(vim.fault.DuplicateName)",
            &format!("The name '{new}' already exists."),
        );
    }
    storage.volumes[i].label = new.clone();
    Outcome::ok(String::new())
}

fn fault(kind: &str, message: &str) -> Outcome {
    let text = if message.is_empty() {
        format!("{kind}\n")
    } else {
        format!(
            "{kind} {{\n   faultCause = (vmodl.MethodFault) null,\n   msg = \"{message}\"\n}}\n"
        )
    };
    Outcome {
        stdout: String::new(),
        stderr: text,
        status: 1,
    }
}
