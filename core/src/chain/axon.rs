//! Where a neuron serves: the axon record a neuron publishes on chain with `serve_axon`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::Block;

/// The IP version of an axon record (`ip_type` on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpType {
    /// IPv4 (`4` on chain).
    V4,
    /// IPv6 (`6` on chain).
    V6,
}

impl IpType {
    /// The number the chain stores.
    pub const fn code(self) -> u8 {
        match self {
            Self::V4 => 4,
            Self::V6 => 6,
        }
    }
}

/// The transport an axon speaks (`protocol` on chain). The Python SDK publishes `4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct AxonProtocol(pub u8);

impl AxonProtocol {
    /// TCP (`0`).
    pub const TCP: Self = Self(0);
    /// UDP (`1`).
    pub const UDP: Self = Self(1);
    /// "Other" (`4`): what the Python SDK's axon publishes for HTTP.
    pub const HTTP: Self = Self(4);
}

/// An axon as published on chain: where a miner can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AxonInfo {
    /// The block at which the record was last served.
    pub block: Block,
    /// Software version, `major·10⁶ + minor·10³ + patch` by the Python convention.
    pub version: u32,
    /// The external IP address (`0.0.0.0` means not serving).
    pub ip: IpAddr,
    /// The external port.
    pub port: u16,
    /// The transport.
    pub protocol: AxonProtocol,
    /// Reserved on chain.
    pub placeholder1: u8,
    /// Reserved on chain.
    pub placeholder2: u8,
}

impl Default for AxonInfo {
    fn default() -> Self {
        Self {
            block: Block(0),
            version: 0,
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            protocol: AxonProtocol::HTTP,
            placeholder1: 0,
            placeholder2: 0,
        }
    }
}

impl AxonInfo {
    /// Whether the neuron serves at all: the Python SDK's rule is `ip != 0.0.0.0`.
    pub fn is_serving(&self) -> bool {
        !self.ip.is_unspecified()
    }

    /// The IP version.
    pub const fn ip_type(&self) -> IpType {
        match self.ip {
            IpAddr::V4(_) => IpType::V4,
            IpAddr::V6(_) => IpType::V6,
        }
    }

    /// The IP as the chain stores it: a `u128` (an IPv4 address in the low 32 bits).
    pub fn ip_u128(&self) -> u128 {
        match self.ip {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }

    /// The IP of the chain's `(u128, ip_type)` pair, or `None` for an unknown type or an
    /// IPv4 value that does not fit in 32 bits.
    pub fn ip_from_chain(ip: u128, ip_type: u8) -> Option<IpAddr> {
        match ip_type {
            4 => u32::try_from(ip)
                .ok()
                .map(|v| IpAddr::V4(Ipv4Addr::from(v))),
            6 => Some(IpAddr::V6(Ipv6Addr::from(ip))),
            _ => None,
        }
    }

    /// The socket address to connect to.
    pub const fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ip_encoding() {
        let axon = AxonInfo {
            ip: "1.2.3.4".parse().unwrap(),
            port: 8091,
            ..AxonInfo::default()
        };
        assert_eq!(axon.ip_u128(), 0x0102_0304);
        assert_eq!(AxonInfo::ip_from_chain(0x0102_0304, 4), Some(axon.ip));
        assert_eq!(AxonInfo::ip_from_chain(1 << 40, 4), None);
        assert_eq!(AxonInfo::ip_from_chain(1, 5), None);
        assert!(axon.is_serving());
        assert!(!AxonInfo::default().is_serving());
        assert_eq!(axon.socket_addr().to_string(), "1.2.3.4:8091");
    }
}
