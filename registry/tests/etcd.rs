//! Registration and discovery against a real etcd.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use etcd_client::GetOptions;
use im_testkit::{Etcd, eventually};
use volo::discovery::Discover;
use volo_etcd_registry::{EtcdDiscover, InstanceInfo, Registration, ServiceName, connect};

const TTL: Duration = Duration::from_secs(2);
const PATIENCE: Duration = Duration::from_secs(15);

fn addresses(discover: &EtcdDiscover) -> Vec<String> {
    let mut addrs: Vec<_> = discover
        .instances()
        .iter()
        .map(|i| i.address.to_string())
        .collect();
    addrs.sort();
    addrs
}

/// How many keys start with `prefix` (0 while etcd is unreachable).
async fn key_count(etcd: &Etcd, prefix: &str) -> usize {
    let Ok(mut client) = connect(&[etcd.endpoint()]).await else {
        return 0;
    };
    client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
        .map_or(0, |r| r.kvs().len())
}

async fn register(etcd: &Etcd, service: &ServiceName, addr: &str) -> Registration {
    let addr: SocketAddr = addr.parse().unwrap();
    let client = connect(&[etcd.endpoint()]).await.unwrap();
    Registration::start(
        client,
        service.instance_key(addr),
        &InstanceInfo::tcp(addr, 10, HashMap::new()),
        TTL,
    )
}

#[tokio::test]
async fn registered_instances_are_discovered_and_deregistering_removes_them() {
    let etcd = Etcd::start();
    let service = ServiceName::new("kitex/registry-etcd", "im.test");
    let discover = EtcdDiscover::start(connect(&[etcd.endpoint()]).await.unwrap(), &service).await;
    let mut changes = discover.watch(None).expect("watchable");

    let a = register(&etcd, &service, "127.0.0.1:7001").await;
    let b = register(&etcd, &service, "127.0.0.1:7002").await;
    eventually("both instances discovered", PATIENCE, || async {
        addresses(&discover) == ["127.0.0.1:7001", "127.0.0.1:7002"]
    })
    .await;
    assert!(
        changes.recv().await.is_ok(),
        "the load balancer is told of the change"
    );

    a.deregister().await;
    eventually("the deregistered instance disappears", PATIENCE, || async {
        addresses(&discover) == ["127.0.0.1:7002"]
    })
    .await;
    drop(b);
    // Dropping deregisters too, but an empty listing keeps the last known instance.
    eventually(
        "the dropped registration's key is gone",
        PATIENCE,
        || async { key_count(&etcd, &service.key_prefix()).await == 0 },
    )
    .await;
    assert_eq!(addresses(&discover), ["127.0.0.1:7002"]);
}

#[tokio::test]
async fn keys_written_by_kitex_are_discovered_and_other_services_are_not() {
    let etcd = Etcd::start();
    let mut client = connect(&[etcd.endpoint()]).await.unwrap();
    let go_value = r#"{"network":"tcp","address":"127.0.0.1:7101","weight":0,"tags":null}"#;
    client
        .put("kitex/registry-etcd/im.rpc/127.0.0.1:7101", go_value, None)
        .await
        .unwrap();
    client
        .put(
            "kitex/registry-etcd/im.rpc2/127.0.0.1:7102",
            r#"{"network":"tcp","address":"127.0.0.1:7102","weight":10,"tags":null}"#,
            None,
        )
        .await
        .unwrap();
    let discover =
        EtcdDiscover::start(client, &ServiceName::new("kitex/registry-etcd", "im.rpc")).await;
    let instances = discover.instances();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].address.to_string(), "127.0.0.1:7101");
    assert_eq!(instances[0].weight, 10);
}

/// kitex-contrib/registry-etcd writes the host of `KITEX_IP_TO_REGISTRY` as it is: a host
/// name, or an IPv6 address without brackets.
#[tokio::test]
async fn kitex_keys_with_a_host_name_or_a_bare_ipv6_address_are_discovered() {
    let etcd = Etcd::start();
    let mut client = connect(&[etcd.endpoint()]).await.unwrap();
    for address in ["localhost:7301", "::1:7302"] {
        let value = format!(r#"{{"network":"tcp","address":"{address}","weight":10,"tags":null}}"#);
        client
            .put(format!("kitex/registry-etcd/im.rpc/{address}"), value, None)
            .await
            .unwrap();
    }
    let discover =
        EtcdDiscover::start(client, &ServiceName::new("kitex/registry-etcd", "im.rpc")).await;
    assert_eq!(addresses(&discover), ["127.0.0.1:7301", "[::1]:7302"]);
}

#[tokio::test]
async fn an_instance_registers_again_after_etcd_lost_its_data() {
    let mut etcd = Etcd::start();
    let service = ServiceName::new("kitex/registry-etcd", "im.test");
    let _registration = register(&etcd, &service, "127.0.0.1:7201").await;
    let key = service.instance_key("127.0.0.1:7201".parse().unwrap());
    eventually("registered", PATIENCE, || async {
        key_count(&etcd, &key).await == 1
    })
    .await;

    etcd.start_again(true);
    eventually("registered again", PATIENCE, || async {
        key_count(&etcd, &key).await == 1
    })
    .await;
}

#[tokio::test]
async fn discovery_keeps_the_last_known_instances_while_etcd_is_down() {
    let mut etcd = Etcd::start();
    let service = ServiceName::new("kitex/registry-etcd", "im.test");
    let _registration = register(&etcd, &service, "127.0.0.1:7301").await;
    let discover = EtcdDiscover::start(connect(&[etcd.endpoint()]).await.unwrap(), &service).await;
    eventually("discovered", PATIENCE, || async {
        addresses(&discover) == ["127.0.0.1:7301"]
    })
    .await;
    etcd.stop();
    // Failing twice, it has listed again once after its watch broke: nothing left to keep.
    eventually("listing fails twice", PATIENCE, || async {
        discover.failures() >= 2
    })
    .await;
    assert_eq!(addresses(&discover), ["127.0.0.1:7301"]);
}
