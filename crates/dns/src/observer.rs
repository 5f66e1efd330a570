//! The seam through which a program watches the queries a
//! [`SteeringHandler`](crate::SteeringHandler) answers (to count them, say),
//! without this crate knowing how they are counted or exported.
//!
//! A handler without an observer (the default) does no work for it beyond
//! one test of an `Option`; with one, it calls [`QueryObserver::observe`]
//! once per response sent, on the thread that answered, after the response
//! was written.

use hickory_proto::op::ResponseCode;

/// Watches the responses a [`SteeringHandler`](crate::SteeringHandler) sends.
///
/// Set it with [`SteeringHandler::with_observer`](crate::SteeringHandler::with_observer).
/// It runs on the answering threads (tokio workers and the batched UDP
/// threads) for every response, so it must be cheap and must never block:
/// count in thread-local or atomic counters, not behind a lock.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use steerage_dns::{Answered, QueryObserver};
///
/// #[derive(Default)]
/// struct Steered(AtomicU64);
///
/// impl QueryObserver for Steered {
///     fn observe(&self, answered: &Answered<'_>) {
///         if answered.steered.is_some() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait QueryObserver: Send + Sync + 'static {
    /// Called once for each response the handler sent (or handed to the
    /// transport): answers, negative answers and errors alike. Queries the
    /// handler drops without a response (a datagram too short for a header,
    /// a response, an unanswerable source) are not observed.
    fn observe(&self, answered: &Answered<'_>);
}

/// One response, as a [`QueryObserver`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answered<'a> {
    /// The transport the query came over.
    pub transport: Transport,
    /// The response code sent (`SERVFAIL` when the response could not be
    /// encoded or sent).
    pub response_code: ResponseCode,
    /// Whether the query carried a valid EDNS Client Subnet option (an
    /// invalid one gets FORMERR and counts as `false`).
    pub client_subnet: bool,
    /// The version of the configuration that answered
    /// ([`Steering::version`](steerage::Steering::version)). The `rule`
    /// and `provider` strings of a [`SteeredAnswer`] belong to that
    /// version's snapshot: a string at a given address and length is the
    /// same for as long as the version does not change, so an observer may
    /// cache by address within one version (never across versions: a later
    /// snapshot may reuse the memory for other strings).
    pub version: u64,
    /// The steering decision, when the response is a steered name's CNAME.
    pub steered: Option<SteeredAnswer<'a>>,
}

/// The decision behind a steered answer. The strings borrow from the
/// query and the serving snapshot: copy what you keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SteeredAnswer<'a> {
    /// The steered name asked for: lower case, no trailing dot (the
    /// policy's domain).
    pub domain: &'a str,
    /// The rule that matched (`default` for the default rule).
    pub rule: &'a str,
    /// The provider that got the client.
    pub provider: &'a str,
    /// The CNAME target answered, lower case, no trailing dot.
    pub cname: &'a str,
}

/// The transport of an observed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// Another transport of a hickory server the handler was registered
    /// with (TLS, HTTPS, QUIC).
    Other,
}

impl Transport {
    /// `udp`, `tcp` or `other`: a label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Other => "other",
        }
    }
}
