//! Policy model.
