using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.ServiceModels;

public class JavaRegexTests
{
    [TestCase(@"\A\S[\p{Print}]*\z", "ok value", true)]
    [TestCase(@"\A\S[\p{Print}]*\z", " leading space", false)]
    [TestCase(@"\A\S[\p{Print}]*\z", "tab\tinside", false)]
    [TestCase(@"\p{ASCII}*", "plain", true)]
    [TestCase(@"\p{ASCII}*", "é", false)]
    [TestCase(@"arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:function:.*", "arn:aws:lambda:us-east-1:123456789012:function:f", true)]
    [TestCase(@"\d+", "١٢", false)] // Java's \d is ASCII only
    [TestCase(@"\w+", "abc_1", true)]
    [TestCase(@"\w+", "é", false)]
    [TestCase(@"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)", "Tag value é 1", true)]
    [TestCase(@"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)", "model-", false)]
    [TestCase(@"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)", "model-1", true)]
    [TestCase(@"^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", "NEW_SESSION", true)]
    [TestCase(@"\Qa.b\E", "a.b", true)]
    [TestCase(@"\Qa.b\E", "axb", false)]
    public void FullMatch(string pattern, string value, bool expected) =>
        Assert.That(JavaRegex.FullMatch(pattern, value), Is.EqualTo(expected));

    [Test]
    public void EveryModelPatternCompiles()
    {
        foreach (var service in ServiceModel.Services)
        {
            foreach (var shape in ServiceModel.Get(service).Shapes.Values.Where(s => s.Pattern is not null))
            {
                Assert.That(() => JavaRegex.Get(shape.Pattern!), Throws.Nothing, $"{service} {shape.Name}: {shape.Pattern}");
            }
        }
    }
}
