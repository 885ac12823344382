//! Where the worker may connect. The upstream's pages name the URLs the
//! worker downloads, so without a rule a hostile upstream (or a proxy in
//! front of it) could make Airlock read loopback services, the private
//! network or a cloud metadata endpoint, and learn about them from the
//! failure it records. This module must never let a URL through that its
//! rule refuses, whichever path (page, file, redirect hop) the URL came by.
//!
//! The rule:
//! - A URL must be on the upstream's own origin (same scheme, host and
//!   port as the configured upstream URL), or on a configured file host
//!   (`upstream_file_hosts`: a host, on its scheme's default port, or
//!   `host:port`). A different port on the upstream's host is another
//!   service, so it is refused like any other host.
//! - The upstream's own host may be anywhere, loopback included: the
//!   operator chose it (this holds for any of its ports that is listed as
//!   a file host too). Any other host must have only public addresses,
//!   unless `upstream_allow_private` is set.
//!
//! The rule is checked where each fact is known, so nothing changes
//! between the check and the connection:
//! - the URL, before every request and on every redirect hop
//!   ([`EgressPolicy::check_url`], [`EgressPolicy::redirect_policy`]), which
//!   also covers IP literals, since reqwest connects to those without a
//!   DNS lookup;
//! - the addresses a host name resolves to, inside the resolver reqwest
//!   connects through ([`EgressPolicy::resolver`]), so a name that resolves
//!   to 127.0.0.1 or 10.x is refused on the very addresses used.
//!
//! Behind an HTTP proxy (`HTTPS_PROXY` and friends) the proxy resolves the
//! names, so only the URL checks apply to the target. The proxy's own name
//! goes through the resolver like any other, so a proxy on a private
//! network needs `upstream_allow_private`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use airlock_store::config::FileHost;
use url::{Host, Url};

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// What kind of address an IP is, for the egress rule. Everything but
/// [`AddressClass::Public`] is refused unless private addresses are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16), fc00::/7, fec0::/10.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 100.64/10 (RFC 6598), used by carriers and by some clouds inside.
    SharedCgnat,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 169.254.169.254 and fd00:ec2::254: credentials live there.
    CloudMetadata,
    /// Reserved, benchmarking and documentation ranges: not on the Internet.
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private-network",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::SharedCgnat => "shared (CGNAT)",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::CloudMetadata => "cloud metadata",
            AddressClass::Reserved => "reserved",
        })
    }
}

/// Classify `ip`. IPv6 addresses that embed an IPv4 one (v4-mapped
/// `::ffff:a.b.c.d`, the deprecated v4-compatible `::a.b.c.d`, and NAT64's
/// `64:ff9b::/96`) are classified by the IPv4 address they reach.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        AddressClass::CloudMetadata
    } else if a == 0 {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if a == 100 && (b & 0xc0) == 64 {
        AddressClass::SharedCgnat
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if a >= 240
        || (a, b, c) == (192, 0, 0)
        || (a, b, c) == (192, 0, 2)
        || (a, b, c) == (198, 51, 100)
        || (a, b, c) == (203, 0, 113)
        || (a == 198 && (b & 0xfe) == 18)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    // v4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) reach an IPv4 host.
    if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        AddressClass::CloudMetadata
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if ip.is_unicast_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_unique_local() || (seg[0] & 0xffc0) == 0xfec0 {
        AddressClass::Private
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// Why a URL or an address was refused. Its text names the host, never
/// anything read from it, so it is safe to show to anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{url} is not an http(s) URL")]
    Scheme { url: String },
    #[error(
        "{origin} is neither the upstream's origin nor a configured file host; add it to upstream_file_hosts \
         (AIRLOCK_UPSTREAM_FILE_HOSTS) if it is the upstream's file host"
    )]
    Host { origin: String },
    #[error("{host} is a {class} address; set upstream_allow_private to allow it")]
    AddressLiteral { host: String, class: AddressClass },
    #[error("{host} resolves to a {class} address; set upstream_allow_private to allow it")]
    Resolved { host: String, class: AddressClass },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

/// The rule above, built once from the configuration and shared by the
/// URL checks, the redirect policy and the resolver.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    upstream: Url,
    file_hosts: Vec<FileHost>,
    allow_private: bool,
}

impl EgressPolicy {
    pub fn new(upstream: Url, file_hosts: Vec<FileHost>, allow_private: bool) -> EgressPolicy {
        EgressPolicy { upstream, file_hosts, allow_private }
    }

    /// May the worker request `url`? Checks the scheme, the origin, and an
    /// IP-literal host's class; host names are checked when they resolve.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme { url: url.as_str().to_string() });
        }
        if url.origin() == self.upstream.origin() {
            return Ok(());
        }
        let host = url.host().ok_or_else(|| Refusal::Scheme { url: url.as_str().to_string() })?;
        let on_file_host = self.file_hosts.iter().any(|f| {
            host_eq(&f.host, &host)
                && match f.port {
                    Some(port) => url.port_or_known_default() == Some(port),
                    None => url.port().is_none(),
                }
        });
        if !on_file_host {
            return Err(Refusal::Host { origin: url.origin().ascii_serialization() });
        }
        let literal = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        };
        match literal.map(classify) {
            Some(class) if class != AddressClass::Public && !self.may_be_private(&host) => Err(Refusal::AddressLiteral { host: host.to_string(), class }),
            _ => Ok(()),
        }
    }

    /// May `name`, resolved to `addrs`, be connected to?
    pub fn check_resolved(&self, name: &str, addrs: &[SocketAddr]) -> Result<(), Refusal> {
        let host = Host::Domain(name);
        if self.may_be_private(&host) {
            return Ok(());
        }
        match addrs.iter().map(|a| classify(a.ip())).find(|c| *c != AddressClass::Public) {
            Some(class) => Err(Refusal::Resolved { host: name.to_string(), class }),
            None => Ok(()),
        }
    }

    /// The upstream's own host may be anywhere; others only when allowed.
    fn may_be_private(&self, host: &Host<&str>) -> bool {
        self.allow_private || self.upstream.host().is_some_and(|up| host_eq(&up.to_owned(), host))
    }

    /// A redirect policy that checks every hop with [`Self::check_url`]
    /// and stops after [`MAX_REDIRECTS`].
    pub fn redirect_policy(self: &Arc<Self>) -> reqwest::redirect::Policy {
        let policy = Arc::clone(self);
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(Refusal::TooManyRedirects);
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        })
    }

    /// A DNS resolver that refuses names resolving to addresses the rule forbids.
    pub fn resolver(self: &Arc<Self>) -> CheckedResolver {
        CheckedResolver { policy: Arc::clone(self) }
    }
}

fn host_eq(a: &Host<String>, b: &Host<&str>) -> bool {
    match (a, b) {
        (Host::Domain(x), Host::Domain(y)) => x.eq_ignore_ascii_case(y.trim_end_matches('.')),
        (Host::Ipv4(x), Host::Ipv4(y)) => x == y,
        (Host::Ipv6(x), Host::Ipv6(y)) => x == y,
        _ => false,
    }
}

/// The system resolver (getaddrinfo, on tokio's blocking pool), with every
/// answer checked by the [`EgressPolicy`] before reqwest may connect to it.
pub struct CheckedResolver {
    policy: Arc<EgressPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            policy.check_resolved(&name, &addrs)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The [`Refusal`] behind a reqwest error, if the rule caused it.
pub fn refusal_of(err: &reqwest::Error) -> Option<&Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests;
