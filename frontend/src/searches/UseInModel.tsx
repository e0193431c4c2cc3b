/**
 * "Use it in your model" on the candidate page: the lines that swap the
 * downloaded layer into a user's own network. Every exported layer.py carries
 * replace_norm_act (search_engine/norm_swap.py is its one source); the bundle's
 * README says the same in more words.
 */


export const USE_IN_MODEL_LINES = [
  "from layer import replace_norm_act   # layer.py from the bundle",
  "model, n = replace_norm_act(model)   # every BatchNorm2d + ReLU becomes this layer",
  "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)   # built after converting",
];

export function UseInModel() {
  return (
    <section className="card" aria-labelledby="use-in-model-title">
      <h2 id="use-in-model-title">Use it in your model</h2>
      <pre className="use-in-model" data-testid="use-in-model">
        <code>{USE_IN_MODEL_LINES.join("\n")}</code>
      </pre>
      <p className="muted small">
        <code>n</code> counts the BatchNorm2d + ReLU pairs replaced; the layer&apos;s own non-linearity takes the
        ReLU&apos;s place. Your model is left as it was: train the returned one. A BatchNorm2d without a ReLU after it
        stays, unless you pass <code>lone_norm=&quot;affine&quot;</code> (the affine step alone) or{" "}
        <code>lone_norm=&quot;layer&quot;</code>. Where torch.fx cannot trace a model, pairs inside{" "}
        <code>nn.Sequential</code> and traceable submodules are still swapped, and a warning names any norm left.
      </p>
    </section>
  );
}
