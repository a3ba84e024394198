//! The installation VM: the QEMU machine as data and its one spawn point (`qemu`), the QMP client
//! (`qmp`), the text → `send-key` table (`keymap`), and the driver that runs one VM to its end (`driver`).

pub mod driver;
pub mod keymap;
pub mod qemu;
pub mod qmp;
