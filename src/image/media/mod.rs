//! The installer's media: the KS.CFG (`kickstart`), the USB stick that carries it (`usb`), and the ESXi
//! installer ISO, read and patched in a copy (`iso`).

pub mod iso;
pub mod kickstart;
pub mod usb;
