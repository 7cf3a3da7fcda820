// RpcObserver's metrics: one child per method (and code), counts that add up.
#include "services/common/rpc_observer.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/support/registry_samples.h"

namespace sheetsync {
namespace {

using test::Samples;

TEST(RpcObserverTest, CountsServedCallsByMethodAndCode) {
  prometheus::Registry registry;
  RpcObserver observer(registry);
  observer.RecordServer("/v1.Writer/Apply", 0, 0.001);
  observer.RecordServer("/v1.Writer/Apply", 0, 0.002);
  observer.RecordServer("/v1.Writer/Apply", 14, 0.5);
  observer.RecordServer("/v1.Resolver/Resolve", 0, 0.003);
  observer.RecordServer("/v1.Resolver/Resolve", 99, 0.003);  // not a code: UNKNOWN
  EXPECT_EQ(Samples(registry, "sheetsync_grpc_server_handled_total"),
            (std::map<std::string, double>{
                {"code=OK,method=/v1.Writer/Apply", 2},
                {"code=UNAVAILABLE,method=/v1.Writer/Apply", 1},
                {"code=OK,method=/v1.Resolver/Resolve", 1},
                {"code=UNKNOWN,method=/v1.Resolver/Resolve", 1}}));
  EXPECT_EQ(Samples(registry, "sheetsync_grpc_server_handling_seconds"),
            (std::map<std::string, double>{{"method=/v1.Writer/Apply", 3},
                                           {"method=/v1.Resolver/Resolve", 2}}));
  EXPECT_TRUE(Samples(registry, "sheetsync_grpc_client_handled_total").empty());
}

TEST(RpcObserverTest, CountsMadeCallsApartFromServedOnes) {
  prometheus::Registry registry;
  RpcObserver observer(registry);
  observer.RecordClient("/v1.Writer/Apply", 4, 10);
  observer.RecordServer("/v1.Writer/Apply", 0, 0.1);
  EXPECT_EQ(Samples(registry, "sheetsync_grpc_client_handled_total"),
            (std::map<std::string, double>{{"code=DEADLINE_EXCEEDED,method=/v1.Writer/Apply", 1}}));
  EXPECT_EQ(Samples(registry, "sheetsync_grpc_client_handling_seconds"),
            (std::map<std::string, double>{{"method=/v1.Writer/Apply", 1}}));
  EXPECT_EQ(Samples(registry, "sheetsync_grpc_server_handled_total"),
            (std::map<std::string, double>{{"code=OK,method=/v1.Writer/Apply", 1}}));
}

}  // namespace
}  // namespace sheetsync
