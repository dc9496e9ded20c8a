using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using D2.Detection.Distributed;

namespace D2.Detection.Tests.Distributed;

[CancelAfter(30_000)]
public class TcpStoreTests
{
    [Test]
    public void Set_then_get_returns_the_value_and_get_waits_for_a_later_set()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var a = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(5));
        using var b = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(5));
        a.Set("x", [1, 2, 3]);
        Assert.That(b.Get("x"), Is.EqualTo(new byte[] { 1, 2, 3 }));

        var later = Task.Run(() => b.GetString("late"));
        Thread.Sleep(200);
        Assert.That(later.IsCompleted, Is.False, "get blocks until the key is set");
        a.Set("late", "hello");
        Assert.That(later.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(later.Result, Is.EqualTo("hello"));
        Assert.That(a.Check(["x", "late"]), Is.True);
        Assert.That(a.Check(["x", "never"]), Is.False);
        a.Set("empty", ReadOnlySpan<byte>.Empty);
        Assert.That(b.Get("empty"), Is.Empty);
    }

    [Test]
    public void Add_is_atomic_across_connections()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var clients = Enumerable.Range(0, 4).Select(_ => TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(5))).ToList();
        try
        {
            var results = clients.AsParallel().SelectMany(c => Enumerable.Range(0, 25).Select(_ => c.Add("count", 1)).ToList()).ToList();
            Assert.That(results.Order(), Is.EqualTo(Enumerable.Range(1, 100).Select(i => (long)i)), "every sum seen exactly once");
            Assert.That(clients[0].GetString("count"), Is.EqualTo("100"), "counters read back as decimal text");
            Assert.That(clients[1].Add("count", -10), Is.EqualTo(90));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Test]
    public void A_missing_key_times_out_with_a_message_naming_it()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(5));
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<TimeoutException>(() => store.Get("rank_1", TimeSpan.FromMilliseconds(300)));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(e!.Message, Does.Contain("'rank_1'").And.Contain($"127.0.0.1:{server.Port}"));
        Assert.Throws<TimeoutException>(() => store.Wait(["a", "b"], TimeSpan.FromMilliseconds(200)));
        // The connection stays usable after a timed-out wait.
        store.Set("a", "1");
        store.Wait(["a"], TimeSpan.FromSeconds(1));
    }

    [Test]
    public void Connect_retries_until_the_master_starts_and_gives_up_with_the_address()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var e = Assert.Throws<TimeoutException>(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromMilliseconds(400)));
        Assert.That(e!.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("rank 0"));

        var connecting = Task.Run(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromSeconds(10)));
        Thread.Sleep(300);
        using var server = new TcpStoreServer(IPAddress.Loopback, port);
        using var store = connecting.Result;
        store.Set("k", "v");
        Assert.That(store.GetString("k"), Is.EqualTo("v"));
    }

    [Test]
    public void A_store_that_goes_away_fails_a_waiting_worker_at_once()
    {
        var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(20));
        var waiting = Task.Run(() => store.Get("never"));
        Thread.Sleep(200);
        var watch = Stopwatch.StartNew();
        server.Dispose();
        var e = Assert.Throws<AggregateException>(() => waiting.Wait(TimeSpan.FromSeconds(10)))!.InnerException;
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "no wait for the 20 s timeout");
        Assert.That(e, Is.InstanceOf<IOException>());
        Assert.That(e!.Message, Does.Contain("rank 0"));
    }

    [Test]
    public void A_taken_port_is_refused_with_the_port_named()
    {
        using var first = new TcpStoreServer(IPAddress.Loopback, 0);
        var e = Assert.Throws<SocketException>(() => new TcpStoreServer(IPAddress.Loopback, first.Port).Dispose());
        Assert.That(e!.Message, Does.Contain($":{first.Port}"));
    }
}
