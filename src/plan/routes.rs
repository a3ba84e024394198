//! Routes (the default route of each family first, then the static routes) and DNS.

use std::net::IpAddr;

use crate::diag::{Code, Diagnostic};
use crate::model::IpNet;
use crate::plan::links::Planner;
use crate::plan::network::{Dns, Route};

impl Planner<'_, '_> {
    pub(super) fn routes(&mut self) -> Vec<Route> {
        let net = self.net;
        let mut routes = Vec::new();
        for (gw, family) in [(&net.gateway4, "ipv4"), (&net.gateway6, "ipv6")] {
            if let Some(gw) = gw {
                routes.push(Route {
                    family,
                    network: "default".to_string(),
                    netmask: String::new(),
                    destination: "default".to_string(),
                    gateway: gw.via.value.to_string(),
                });
            }
        }
        for r in &net.routes {
            if let Some(m) = &r.metric
                && m.value != 0
            {
                self.diags.push(
                    Diagnostic::warning(
                        Code::Route,
                        Some(m.span),
                        format!(
                            "metric {} of the route to {} is dropped",
                            m.value, r.to.value
                        ),
                    )
                    .with_help("ESXi static routes have no metric"),
                );
            }
            let (family, network, netmask) = match r.to.value {
                IpNet::V4(n) => ("ipv4", n.network().to_string(), n.netmask().to_string()),
                IpNet::V6(n) => ("ipv6", n.network().to_string(), n.prefix.to_string()),
            };
            routes.push(Route {
                family,
                network,
                netmask,
                destination: r.to.value.to_string(),
                gateway: r.via.value.to_string(),
            });
        }
        routes
    }

    /// DNS servers and search domains, in the model's order.
    pub(super) fn dns(&self) -> Dns {
        Dns {
            servers: self.net.dns.servers.iter().map(IpAddr::to_string).collect(),
            search: self.net.dns.search.clone(),
        }
    }
}
