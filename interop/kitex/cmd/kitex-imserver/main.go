// Command kitex-imserver runs the in-memory Kitex IMService of package imserver, registered in
// etcd by kitex-contrib/registry-etcd the way a Kitex service of the reference assignment is.
// The address it registers is registry-etcd's own choice (this host's first non-loopback IPv4
// when listening on all interfaces; KITEX_IP_TO_REGISTRY overrides it).
package main

import (
	"flag"
	"log"
	"net"
	"strings"

	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"
	etcd "github.com/kitex-contrib/registry-etcd"

	"imkitex/imserver"
	"imkitex/kitex_gen/rpc/imservice"
)

func main() {
	listen := flag.String("listen", ":8890", "address to listen on")
	endpoints := flag.String("etcd", "127.0.0.1:2379", "etcd endpoints, comma-separated")
	service := flag.String("service", "im.rpc", "service name to register under")
	flag.Parse()

	addr, err := net.ResolveTCPAddr("tcp", *listen)
	if err != nil {
		log.Fatalf("-listen %q: %v", *listen, err)
	}
	registry, err := etcd.NewEtcdRegistry(strings.Split(*endpoints, ","))
	if err != nil {
		log.Fatalf("etcd: %v", err)
	}
	svr := imservice.NewServer(imserver.New(),
		server.WithServiceAddr(addr),
		server.WithRegistry(registry),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: *service}),
	)
	if err := svr.Run(); err != nil {
		log.Fatal(err)
	}
}
