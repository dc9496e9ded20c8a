using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Detection.Data.Datasets;

internal sealed partial class CocoJsonStream
{
    /// <summary>
    /// The second half of a large file's <c>annotations</c>, read by a second thread while the main pass reads the
    /// first (the tokenizer is most of the load, so two cores halve it). The split point is a guess: the first
    /// <c>}</c>, <c>,</c>, <c>{</c> after the file's middle, which could as well lie inside a string or a nested array.
    /// It is trusted only when the main pass, reading <c>annotations</c> element by element, stops exactly there; it
    /// then takes the tail's annotations and jumps to the tail's closing bracket. Otherwise the tail is dropped and the
    /// main pass reads on itself, so the result never depends on the guess. Anything the tail cannot read (a syntax
    /// error, an element the main pass would hand over) ends it the same way: the main pass meets it and words it.
    /// </summary>
    sealed class AnnotationsTail
    {
        readonly string _path;
        readonly Thread _thread;
        volatile bool _cancelled;
        bool _succeeded;

        AnnotationsTail(string path, long start)
        {
            _path = path;
            Start = start;
            _thread = new Thread(Run) { IsBackground = true, Name = "COCO json tail" };
            _thread.Start();
        }

        /// <summary>The offset just after the <c>}</c> that ends the element before the tail's first.</summary>
        public long Start { get; }

        /// <summary>The offset of the <c>]</c> that closes <c>annotations</c>, once read.</summary>
        public long End { get; private set; } = -1;

        public CocoJsonStream Content { get; } = new();

        /// <summary>Starts a tail for a file of at least <paramref name="minimumLength"/> bytes on a machine with two cores or more.</summary>
        public static AnnotationsTail? TryStart(string path, long minimumLength)
        {
            if (Environment.ProcessorCount < 2)
                return null;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            if (stream.Length < minimumLength)
                return null;
            stream.Position = stream.Length / 2;
            var chunk = new byte[(int)Math.Min(1 << 16, stream.Length - stream.Position)];
            stream.ReadExactly(chunk);
            for (var i = 0; i < chunk.Length; i++)
            {
                if (chunk[i] != (byte)'}')
                    continue;
                var j = SkipWhiteSpace(chunk, i + 1);
                if (j < chunk.Length && chunk[j] == (byte)',' && SkipWhiteSpace(chunk, j + 1) is var k && k < chunk.Length && chunk[k] == (byte)'{')
                    return new AnnotationsTail(path, stream.Length / 2 + i + 1);
            }
            return null;
        }

        /// <summary>Waits for the tail.</summary>
        /// <returns>whether it read its elements up to the closing bracket.</returns>
        public bool Join()
        {
            _thread.Join();
            return _succeeded;
        }

        public void Cancel()
        {
            _cancelled = true;
            _thread.Join();
        }

        void Run()
        {
            try
            {
                _succeeded = ReadToClosingBracket();
            }
            catch (Exception)
            {
                // Whatever stops the tail (invalid JSON, an unreadable file), the main pass reads this part itself and reports it.
                _succeeded = false;
            }
        }

        bool ReadToClosingBracket()
        {
            var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan) { Position = Start };
            using var window = new JsonFileWindow(stream, DefaultBufferSize, CocoJson.ReaderOptions);
            // Each element is read as a root value; in the file it sits two levels down (root object, annotations array).
            var elementOptions = CocoJson.ReaderOptions with { MaxDepth = CocoJson.ReaderOptions.MaxDepth - 2 };
            var expectSeparator = true;
            if (!window.Fill())
                return false;
            while (!_cancelled)
            {
                var pending = window.Pending;
                var i = SkipWhiteSpace(pending, 0);
                if (i == pending.Length)
                {
                    window.Consume(i);
                    if (!window.Fill() || window.Pending.Length == 0)
                        return false;
                    continue;
                }
                if (expectSeparator)
                {
                    if (pending[i] == (byte)']')
                    {
                        End = window.OffsetOf(i);
                        return true;
                    }
                    if (pending[i] != (byte)',')
                        return false;
                    window.Consume(i + 1);
                    expectSeparator = false;
                    continue;
                }
                if (pending[i] != (byte)'{')
                    return false;
                var reader = new Utf8JsonReader(pending[i..], window.IsFinal, new JsonReaderState(elementOptions));
                reader.Read();
                var step = Content.ReadAnnotation(ref reader);
                if (step == Step.NeedMore)
                {
                    window.Consume(i);
                    if (!window.Fill())
                        return false;
                    continue;
                }
                if (step != Step.Progress)
                    return false;
                window.Consume(i + (int)reader.BytesConsumed);
                expectSeparator = true;
            }
            return false;
        }

        static int SkipWhiteSpace(ReadOnlySpan<byte> bytes, int from)
        {
            while (from < bytes.Length && bytes[from] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
                from++;
            return from;
        }
    }

    /// <summary>The reader state inside <c>annotations</c> (root object, then the array), to go on after a tail's bracket.</summary>
    static JsonReaderState InsideAnnotationsArray()
    {
        var reader = new Utf8JsonReader("{\"annotations\":["u8, isFinalBlock: false, new JsonReaderState(CocoJson.ReaderOptions));
        while (reader.Read())
        {
        }
        return reader.CurrentState;
    }
}
