#include "wattlab/study/slurm.h"

#include <gtest/gtest.h>

#include "wattlab/study/study_testing.h"

namespace wattlab {
namespace {

TEST(SlurmTest, ScriptAsksForTheEnvironmentsResourcesAndRunsItsTrials) {
  TestFlagChecker checker;
  auto spec = parse_study_spec("s.yaml",
                               "name: green\nmodels: [{model: cnn}]\nenvironments:\n"
                               "  - {name: gpu, threads: 4, slurm: {partition: gpu, gres: \"gpu:1\", mem: 8G, time: \"02:00:00\"}}\n"
                               "  - {name: cpu, threads: 2}\n",
                               checker);
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  SlurmOptions options;
  options.wattlab_binary = "/opt/wattlab's/wattlab";
  options.store = "postgresql://u@db/w";
  options.work_dir = "/shared/studies";
  options.max_parallel = 3;
  options.stale_after_ms = 60000;
  const std::string script = sbatch_script(*spec, spec->environments[0], {4, 0, 7}, options, "/shared/studies/spec.yaml",
                                           "/tmp/node.json");
  EXPECT_EQ(script,
            "#!/bin/bash\n"
            "#SBATCH --job-name=wattlab-green-gpu\n"
            "#SBATCH --array=0-2%3\n"
            "#SBATCH --output=/shared/studies/logs/wattlab-green-gpu-%A_%a.out\n"
            "#SBATCH --cpus-per-task=4\n"
            "#SBATCH --partition=gpu\n"
            "#SBATCH --gres=gpu:1\n"
            "#SBATCH --mem=8G\n"
            "#SBATCH --time=02:00:00\n"
            "# wattlab study green (spec " + spec->hash + "), environment gpu: 3 trial(s). Written by `wattlab study run "
            "--executor slurm`; running it again is safe.\n"
            "INDICES=(4 0 7)\n"
            "exec '/opt/wattlab'\\''s/wattlab' --store 'postgresql://u@db/w' study trial '/shared/studies/spec.yaml' "
            "--index \"${INDICES[$SLURM_ARRAY_TASK_ID]}\" --node-state '/tmp/node.json' --stale-after 60000ms\n");
  // Without slurm: resources, the CPUs follow the environment's threads and no partition is asked for.
  options.max_parallel = 0;
  const std::string cpu = sbatch_script(*spec, spec->environments[1], {1}, options, "/s.yaml", "/tmp/n.json");
  EXPECT_NE(cpu.find("#SBATCH --array=0-0\n#SBATCH --output="), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("#SBATCH --cpus-per-task=2\n"), std::string::npos);
  EXPECT_EQ(cpu.find("--partition"), std::string::npos);
}

}  // namespace
}  // namespace wattlab
