//! The server under test: the design scenario on the sample data, on
//! 127.0.0.1 port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use steerage::Steering;
use steerage::geo::LocationTable;
use steerage::policy::Format;
use steerage_dns::{DnsServer, ServerOptions, ShutdownHandle, SteeringHandler, ZoneSettings};

/// The design scenario (REPORT.md of the peer benchmark): Beijing -> origin,
/// rest of China -> cdn-a 70 / built-in (edge.example.org) 30, everyone else
/// -> cdn-b; TTL 60.
pub(crate) const SCENARIO: &str = include_str!("../../testdata/scenario.toml");

/// Sample-data clients (docs/geo.md): ECS subnets and what they get.
pub(crate) const BEIJING: &str = "192.0.2.0/25";
pub(crate) const SHANGHAI: &str = "203.0.113.0/24";
pub(crate) const US: &str = "198.51.100.0/24";
pub(crate) const BEIJING_V6: &str = "2001:db8:100::/48";

pub(crate) const ORIGIN: &str = "origin.example.net.";
pub(crate) const CDN_A: &str = "cdn-a.example.net.";
pub(crate) const CDN_B: &str = "cdn-b.example.net.";
pub(crate) const BUILTIN: &str = "edge.example.org.";

pub(crate) fn scenario_steering() -> Arc<Steering> {
    Arc::new(
        Steering::builder()
            .config_str(SCENARIO, Format::Toml)
            .locations(LocationTable::sample())
            .build()
            .unwrap(),
    )
}

/// A running server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) steering: Arc<Steering>,
    shutdown: ShutdownHandle,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(scenario_steering(), ZoneSettings::new()).await
    }

    pub(crate) async fn start_with(steering: Arc<Steering>, settings: ZoneSettings) -> Self {
        Self::start_with_options(steering, settings, ServerOptions::default()).await
    }

    pub(crate) async fn start_with_options(
        steering: Arc<Steering>,
        settings: ZoneSettings,
        options: ServerOptions,
    ) -> Self {
        let handler = SteeringHandler::with_zones(Arc::clone(&steering), settings).unwrap();
        let server = DnsServer::bind("127.0.0.1:0".parse().unwrap(), handler, options)
            .await
            .unwrap();
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        tokio::spawn(server.run());
        Self {
            addr,
            steering,
            shutdown,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}
