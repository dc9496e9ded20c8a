using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using D2.Trainer.SageMaker;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// A SageMaker job on two instances, each an /opt/ml tree and a trainer process on this machine: resourceconfig.json
/// names the hosts (loopback names, so that they resolve here), the first sorted host is rank 0 and the master.
/// </summary>
[NonParallelizable]
[CancelAfter(300_000)]
public class MultiInstanceContainerTests
{
    const string TinyOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 "
        + "MODEL.RPN.BATCH_SIZE_PER_IMAGE 32 MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 32 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 "
        + "INPUT.MIN_SIZE_TEST 120 INPUT.MAX_SIZE_TEST 160 SOLVER.IMS_PER_BATCH 2 SOLVER.WARMUP_ITERS 2 SOLVER.STEPS (100,) "
        + "TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SOLVER.MAX_ITER 3 SOLVER.CHECKPOINT_PERIOD 2";

    [Test]
    public void Hosts_are_sorted_the_first_is_the_master_and_EFA_instances_get_libfabric_settings()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("d2-rc-").FullName, "resourceconfig.json");
        try
        {
            File.WriteAllText(file, """{"current_host": "algo-2", "hosts": ["algo-3", "algo-1", "algo-2"], "network_interface_name": "eth1", "current_instance_type": "ml.p4d.24xlarge"}""");
            var cluster = SageMakerCluster.Load(file);
            Assert.That(cluster.Hosts, Is.EqualTo(new[] { "algo-1", "algo-2", "algo-3" }));
            Assert.That((cluster.MachineRank, cluster.NumMachines, cluster.Master), Is.EqualTo((1, 3, "algo-1")));
            Assert.That(cluster.DistUrl(new Dictionary<string, string?>()), Is.EqualTo("tcp://algo-1:7777"));
            Assert.That(cluster.DistUrl(new Dictionary<string, string?> { ["MASTER_PORT"] = "29500" }), Is.EqualTo("tcp://algo-1:29500"));
            Assert.That(cluster.WorkerEnvironment(), Is.EquivalentTo(new Dictionary<string, string>
            {
                ["NCCL_SOCKET_IFNAME"] = "eth1", ["GLOO_SOCKET_IFNAME"] = "eth1", ["FI_PROVIDER"] = "efa", ["FI_EFA_USE_DEVICE_RDMA"] = "1",
            }));
            File.WriteAllText(file, """{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0", "current_instance_type": "ml.m5.xlarge"}""");
            Assert.That(SageMakerCluster.Load(file).WorkerEnvironment().Keys, Is.EquivalentTo(new[] { "NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME" }));
            File.WriteAllText(file, """{"current_host": "algo-9", "hosts": ["algo-1", "algo-2"]}""");
            Assert.That(Assert.Throws<JobInputException>(() => SageMakerCluster.Load(file))!.Message, Does.Contain("algo-9"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Test]
    public void A_two_instance_job_trains_as_two_ranks_and_only_the_master_host_writes()
    {
        var data = Directory.CreateTempSubdirectory("d2-sm2-data-").FullName;
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        // "127.0.0.1" sorts before "localhost": it is machine 0, the master.
        string[] hosts = ["localhost", "127.0.0.1"];
        var jobs = hosts.Select(_ => new TrainingJobTree("d2-two-hosts")).ToArray();
        try
        {
            var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", data, "--train", "4", "--val", "2", "--size", "160x120");
            Assert.That(exit, Is.Zero, stderr);
            for (var i = 0; i < jobs.Length; i++)
            {
                File.WriteAllText(jobs[i].Path("input/config/resourceconfig.json"), JsonSerializer.Serialize(new
                {
                    current_host = hosts[i], hosts, network_interface_name = "lo", current_instance_type = "ml.m5.xlarge",
                }));
                jobs[i].AddChannel("training", Path.Combine(data, "train"), "annotations.json");
                jobs[i].WriteHyperparameters(new Dictionary<string, string>
                {
                    ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts, ["seed"] = "3",
                });
                jobs[i].Environment["MASTER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            var running = jobs.Select(j => j.Start()).ToArray();
            var exits = running.Select(r => r.WaitForExit(TimeSpan.FromMinutes(3))).ToArray();
            var (master, other) = (running[1], running[0]);
            Assert.That(exits, Is.EqualTo(new[] { 0, 0 }), master.Stdout + master.Stderr + other.Stdout + other.Stderr);
            Assert.That(master.Stdout, Does.Contain("World size: 2 (gloo)"));
            Assert.That(File.Exists(jobs[1].Path("model/model_final.safetensors")), Is.True);
            Assert.That(File.Exists(jobs[1].Path("output/data/metrics.json")), Is.True);
            Assert.That(File.Exists(jobs[1].Path("checkpoints/model_final.safetensors")), Is.True);
            Assert.That(Directory.EnumerateFileSystemEntries(jobs[0].Path("model")), Is.Empty, "one model.tar.gz: from rank 0's host");
            Assert.That(Directory.EnumerateFileSystemEntries(jobs[0].Path("checkpoints")), Is.Empty);
            Assert.That(File.Exists(jobs[0].Path("output/data/metrics.json")), Is.False);
            Assert.That(jobs[0].FailureText + jobs[1].FailureText, Is.Empty);
            foreach (var r in running) r.Dispose();
        }
        finally
        {
            foreach (var job in jobs) job.Dispose();
            Directory.Delete(data, recursive: true);
        }
    }
}
