// Data-parallel pieces that need no second process: which rank the launcher's variables name, and
// the world-size checks of a plain run. Two real ranks: tests/distributed_cli.sh.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "train/distributed/process_group.h"
#include "train/distributed/ranks.h"
#include "tests/error_of.h"

namespace metta::train::distributed {
namespace {

RankInfo from(const std::map<std::string, std::string>& vars) {
  return rank_info_from([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(Ranks, PlainStartIsRankZeroOfOne) {
  const RankInfo r = from({});
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.world, 1);
  EXPECT_EQ(r.local_rank, 0);
  EXPECT_EQ(r.launcher, "");
}

TEST(Ranks, EachLauncherIsRead) {
  RankInfo r = from({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(r.launcher, "mpirun");
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(r.world, 4);
  EXPECT_EQ(r.local_rank, 1);
  r = from({{"SLURM_PROCID", "5"}, {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(r.launcher, "slurm");
  EXPECT_EQ(r.rank, 5);
  EXPECT_EQ(r.world, 8);
  EXPECT_EQ(r.local_rank, 1);
  r = from({{"RANK", "1"}, {"WORLD_SIZE", "2"}});  // no LOCAL_RANK: the rank
  EXPECT_EQ(r.launcher, "torchrun");
  EXPECT_EQ(r.local_rank, 1);
}

TEST(Ranks, MpirunWinsOverSlurmAndTorchrunVariables) {
  // mpirun inside a Slurm allocation: its own variables name the rank
  const RankInfo r = from({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"SLURM_PROCID", "0"},
                           {"SLURM_STEP_NUM_TASKS", "1"}, {"RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_EQ(r.launcher, "mpirun");
  EXPECT_EQ(r.rank, 1);
  // a batch script's own shell (sbatch -n 4) has SLURM_PROCID and SLURM_NTASKS but no job step: not a launch
  EXPECT_EQ(from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).world, 1);
}

TEST(Ranks, BadValuesNameTheVariable) {
  EXPECT_EQ(testing::error_of([] { from({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }),
            "RANK: got 'x', expected an integer >= 0");
  EXPECT_EQ(testing::error_of([] { from({{"RANK", "0"}, {"WORLD_SIZE", "0"}}); }),
            "WORLD_SIZE: got '0', expected an integer >= 1");
  EXPECT_EQ(testing::error_of([] { from({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }),
            "RANK: got 2, expected a rank below WORLD_SIZE=2");
  EXPECT_EQ(testing::error_of([] { from({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}); }),
            "RANK: got '-1', expected an integer >= 0");
}

TEST(ProcessGroup, APlainProcessIsOneRankWhoseCollectivesChangeNothing) {
  ProcessGroup& g = ProcessGroup::get();
  EXPECT_EQ(g.world(), 1);
  EXPECT_TRUE(g.is_main());
  EXPECT_FALSE(g.active());
  double v[2] = {1.5, -2};
  g.sum_host(v, 2);
  EXPECT_EQ(v[0], 1.5);
  EXPECT_EQ(v[1], -2);
  EXPECT_TRUE(g.any(true));
  EXPECT_FALSE(g.any(false));
  EXPECT_EQ(g.broadcast({1, 2, 3}), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(g.gather({7}).size(), 1u);
  // joining again as another rank is refused; as the same one it is the same group
  EXPECT_EQ(&ProcessGroup::join(RankInfo{}), &g);
  RankInfo other;
  other.world = 2;
  other.rank = 1;
  EXPECT_NE(testing::error_of([&] { ProcessGroup::join(other); }).find("cannot join again as rank 1 of 2"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { g.set_timeout(0); }).find("expected seconds > 0"), std::string::npos);
}

}  // namespace
}  // namespace metta::train::distributed
