use super::*;

fn class(ip: &str) -> AddressClass {
    classify(ip.parse().unwrap())
}

#[test]
fn ipv4_addresses_off_the_internet_are_not_public() {
    let cases = [
        ("127.0.0.1", AddressClass::Loopback),
        ("127.255.0.9", AddressClass::Loopback),
        ("10.1.2.3", AddressClass::Private),
        ("172.16.0.1", AddressClass::Private),
        ("172.31.255.255", AddressClass::Private),
        ("192.168.1.1", AddressClass::Private),
        ("169.254.0.1", AddressClass::LinkLocal),
        ("169.254.169.254", AddressClass::CloudMetadata),
        ("0.0.0.0", AddressClass::Unspecified),
        ("0.1.2.3", AddressClass::Unspecified),
        ("100.64.0.1", AddressClass::SharedCgnat),
        ("100.127.255.254", AddressClass::SharedCgnat),
        ("100.100.100.200", AddressClass::SharedCgnat),
        ("224.0.0.1", AddressClass::Multicast),
        ("239.255.255.250", AddressClass::Multicast),
        ("255.255.255.255", AddressClass::Broadcast),
        ("240.0.0.1", AddressClass::Reserved),
        ("192.0.2.10", AddressClass::Reserved),
        ("198.18.0.1", AddressClass::Reserved),
    ];
    for (ip, want) in cases {
        assert_eq!(class(ip), want, "{ip}");
    }
}

#[test]
fn ipv4_addresses_next_to_the_ranges_are_public() {
    for ip in
        ["8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.255.255", "11.0.0.1", "223.255.255.255", "198.20.0.1"]
    {
        assert_eq!(class(ip), AddressClass::Public, "{ip}");
    }
}

#[test]
fn ipv6_addresses_off_the_internet_are_not_public() {
    let cases = [
        ("::1", AddressClass::Loopback),
        ("::", AddressClass::Unspecified),
        ("fc00::1", AddressClass::Private),
        ("fd12:3456::1", AddressClass::Private),
        ("fec0::1", AddressClass::Private),
        ("fe80::1", AddressClass::LinkLocal),
        ("febf::1", AddressClass::LinkLocal),
        ("fd00:ec2::254", AddressClass::CloudMetadata),
        ("ff02::1", AddressClass::Multicast),
        ("2001:db8::1", AddressClass::Reserved),
    ];
    for (ip, want) in cases {
        assert_eq!(class(ip), want, "{ip}");
    }
    assert_eq!(class("2606:4700::1111"), AddressClass::Public);
    assert_eq!(class("2a00:1450::1"), AddressClass::Public);
}

#[test]
fn ipv6_addresses_that_carry_an_ipv4_address_are_judged_by_it() {
    assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Loopback, "v4-mapped");
    assert_eq!(class("::ffff:10.0.0.1"), AddressClass::Private, "v4-mapped");
    assert_eq!(class("::ffff:169.254.169.254"), AddressClass::CloudMetadata, "v4-mapped");
    assert_eq!(class("::ffff:8.8.8.8"), AddressClass::Public, "v4-mapped");
    assert_eq!(class("::127.0.0.1"), AddressClass::Loopback, "v4-compatible");
    assert_eq!(class("64:ff9b::a00:1"), AddressClass::Private, "NAT64 of 10.0.0.1");
    assert_eq!(class("64:ff9b::808:808"), AddressClass::Public, "NAT64 of 8.8.8.8");
}

fn policy(upstream: &str, file_hosts: &[&str], allow_private: bool) -> EgressPolicy {
    let hosts = file_hosts.iter().map(|h| FileHost::parse(h).unwrap()).collect();
    EgressPolicy::new(Url::parse(upstream).unwrap(), hosts, allow_private)
}

fn check(p: &EgressPolicy, url: &str) -> Result<(), Refusal> {
    p.check_url(&Url::parse(url).unwrap())
}

#[test]
fn the_upstream_origin_is_allowed_even_on_loopback() {
    let p = policy("http://127.0.0.1:8000/simple/", &[], false);
    assert_eq!(check(&p, "http://127.0.0.1:8000/files/demo-1.0.tar.gz"), Ok(()));
    assert_eq!(check(&p, "http://127.0.0.1:8000/elsewhere"), Ok(()), "any path on the upstream's origin");
}

#[test]
fn another_port_scheme_or_host_than_the_upstreams_is_refused() {
    let p = policy("http://127.0.0.1:8000/simple/", &[], false);
    for url in ["http://127.0.0.1:8001/x", "https://127.0.0.1:8000/x", "http://127.0.0.2:8000/x", "http://localhost:8000/x", "http://10.0.0.1/x"] {
        assert!(matches!(check(&p, url), Err(Refusal::Host { .. })), "{url}");
    }
    assert!(matches!(check(&p, "file:///etc/passwd"), Err(Refusal::Scheme { .. })));
    assert!(matches!(check(&p, "ftp://127.0.0.1:8000/x"), Err(Refusal::Scheme { .. })));
    let https = policy("https://index.example/simple/", &[], false);
    assert_eq!(check(&https, "https://index.example:443/files/x"), Ok(()), "the default port written out is the same origin");
    assert!(check(&https, "http://index.example/files/x").is_err(), "no downgrade to http");
}

#[test]
fn configured_file_hosts_are_allowed_on_their_port() {
    let p = policy("https://index.example/simple/", &["files.example", "mirror.example:8443"], false);
    assert_eq!(check(&p, "https://files.example/packages/demo.whl"), Ok(()));
    assert_eq!(check(&p, "https://FILES.example/packages/demo.whl"), Ok(()));
    assert_eq!(check(&p, "http://files.example/packages/demo.whl"), Ok(()), "default port of either scheme");
    assert!(check(&p, "https://files.example:8443/x").is_err(), "a host without a port allows only the default port");
    assert_eq!(check(&p, "https://mirror.example:8443/x"), Ok(()));
    assert!(check(&p, "https://mirror.example/x").is_err());
    assert!(check(&p, "https://files.example.evil.test/x").is_err());
    assert!(check(&p, "https://evilfiles.example/x").is_err());
}

#[test]
fn a_file_host_on_a_private_address_needs_allow_private() {
    let strict = policy("https://index.example/simple/", &["10.0.0.5:8080", "[fd00::5]", "169.254.169.254"], false);
    assert!(matches!(check(&strict, "http://10.0.0.5:8080/x"), Err(Refusal::AddressLiteral { class: AddressClass::Private, .. })));
    assert!(matches!(check(&strict, "http://[fd00::5]/x"), Err(Refusal::AddressLiteral { class: AddressClass::Private, .. })));
    assert!(matches!(check(&strict, "http://169.254.169.254/latest/meta-data/"), Err(Refusal::AddressLiteral { class: AddressClass::CloudMetadata, .. })));
    let relaxed = policy("https://index.example/simple/", &["10.0.0.5:8080"], true);
    assert_eq!(check(&relaxed, "http://10.0.0.5:8080/x"), Ok(()));
    assert!(check(&relaxed, "http://10.0.0.6:8080/x").is_err(), "allow_private does not widen the host list");
}

#[test]
fn names_resolving_to_private_addresses_are_refused_except_the_upstreams() {
    let addr = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
    let p = policy("http://index.internal:3141/simple/", &["files.example"], false);
    assert_eq!(p.check_resolved("index.internal", &[addr("10.0.0.2")]), Ok(()), "the upstream's host may be private");
    assert_eq!(p.check_resolved("files.example", &[addr("93.184.215.14")]), Ok(()));
    assert_eq!(
        p.check_resolved("files.example", &[addr("93.184.215.14"), addr("127.0.0.1")]),
        Err(Refusal::Resolved { host: "files.example".into(), class: AddressClass::Loopback }),
        "one private answer among public ones is refused"
    );
    assert!(matches!(p.check_resolved("files.example", &[addr("::ffff:192.168.0.1")]), Err(Refusal::Resolved { .. })));
    let relaxed = policy("http://index.internal:3141/simple/", &["files.example"], true);
    assert_eq!(relaxed.check_resolved("files.example", &[addr("10.0.0.3")]), Ok(()));
}

#[tokio::test]
async fn the_resolver_refuses_localhost_for_any_host_but_the_upstream() {
    use reqwest::dns::Resolve;
    let strict = Arc::new(policy("http://127.0.0.1:8000/simple/", &["localhost:9000"], false));
    let err = match strict.resolver().resolve("localhost".parse().unwrap()).await {
        Ok(_) => panic!("localhost resolved"),
        Err(e) => e,
    };
    assert!(matches!(err.downcast_ref::<Refusal>(), Some(Refusal::Resolved { class: AddressClass::Loopback, .. })), "{err}");
    let upstream_by_name = Arc::new(policy("http://localhost:8000/simple/", &[], false));
    assert!(upstream_by_name.resolver().resolve("localhost".parse().unwrap()).await.is_ok());
}
