//! Small building blocks shared by screens and popups.

pub mod input;
