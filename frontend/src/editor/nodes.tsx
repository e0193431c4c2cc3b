/**
 * Custom React Flow nodes: the four fixed inputs, op nodes with one labelled
 * input handle per slot, and the output sink. Problems found by the validation
 * mirror are shown on the node they concern; dead nodes are greyed.
 */
import { Handle, Position, type NodeProps, type NodeTypes } from "@xyflow/react";
import { memo } from "react";
import type { InputFlowNode, OpFlowNode, OutputFlowNode } from "./flow";
import { isWarning } from "./validation";

function paramText(params: Record<string, number> | undefined): string {
  if (!params) return "";
  return Object.entries(params)
    .map(([k, v]) => (k === "groups" ? `G=${v}` : `${k}=${v}`))
    .join(" ");
}

function IssueMark({ messages, warning = false }: { messages: string[]; warning?: boolean }) {
  if (messages.length === 0) return null;
  return (
    <span
      className={warning ? "node-issue node-warning" : "node-issue"}
      role="img"
      aria-label={`${warning ? "Warning" : "Problem"}: ${messages.join("; ")}`}
      title={messages.join("\n")}
    >
      {warning ? "?" : "!"}
    </span>
  );
}

export const OpNode = memo(function OpNode({ id, data, selected }: NodeProps<OpFlowNode>) {
  const category = data.spec?.category ?? "unknown";
  const errors = data.issues.filter((i) => !isWarning(i));
  const warnings = data.issues.filter(isWarning);
  const slotIssues = new Map<number, { message: string; warning: boolean }>();
  for (const i of data.issues) if (i.slot !== undefined) slotIssues.set(i.slot, { message: i.message, warning: isWarning(i) });
  const classes = [
    "lab-node",
    "op-node",
    `cat-${category}`,
    data.dead ? "dead" : "",
    errors.length ? "has-issues" : "",
    data.issues.some((i) => i.code === "cycle") ? "in-cycle" : "",
    data.isOutput ? "is-output" : "",
    selected ? "selected" : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div
      className={classes}
      data-testid={`node-${id}`}
      title={[data.spec?.description ?? "unknown op", data.dead ? "Unused: the output does not use this node; it is not computed or exported." : ""]
        .filter(Boolean)
        .join("\n")}
    >
      <div className="node-head">
        <span className="node-op">{data.op}</span>
        {data.batch && (
          <span className="badge mode-B" title="batch_* op: this layer is batch-based (B) if the node is live">
            B
          </span>
        )}
        <IssueMark messages={errors.map((i) => i.message)} />
        {errors.length === 0 && <IssueMark messages={warnings.map((i) => i.message)} warning />}
      </div>
      <div className="node-sub">
        <span className="node-id">{id}</span>
        {data.params && <span className="node-params">{paramText(data.params)}</span>}
        {data.dead && <span className="node-dead-tag">unused</span>}
      </div>
      <div className="node-slots">
        {data.slots.map((label, i) => (
          <div
            key={i}
            className={`node-slot ${slotIssues.has(i) ? (slotIssues.get(i)!.warning ? "slot-empty" : "slot-missing") : ""}`}
            title={slotIssues.get(i)?.message}
          >
            <Handle
              type="target"
              position={Position.Left}
              id={`in${i}`}
              isConnectable={!data.readOnly}
              aria-label={`input ${label} of ${id}`}
              className="slot-handle"
            />
            <span className="slot-label">{label}</span>
          </div>
        ))}
      </div>
      <Handle
        type="source"
        position={Position.Right}
        id="out"
        isConnectable={!data.readOnly}
        aria-label={`output of ${id}`}
        className="out-handle"
      />
    </div>
  );
});

export const InputNode = memo(function InputNode({ id, data, selected }: NodeProps<InputFlowNode>) {
  return (
    <div
      className={`lab-node input-node ${data.used ? "" : "unused"} ${selected ? "selected" : ""}`}
      data-testid={`node-${id}`}
      title={data.description}
    >
      <span className="input-name">{data.name}</span>
      <span className="input-desc">{data.name === "x" ? "layer input" : data.name === "zero" ? "0" : "trainable"}</span>
      <Handle type="source" position={Position.Right} id="out" aria-label={`input ${data.name}`} className="out-handle" />
    </div>
  );
});

export const OutputNode = memo(function OutputNode({ data, selected }: NodeProps<OutputFlowNode>) {
  const messages = data.issues.map((i) => i.message);
  return (
    <div
      className={`lab-node output-node ${messages.length ? "has-issues" : ""} ${selected ? "selected" : ""}`}
      data-testid="node-output"
      title="The layer's output, before the learned affine step y = out * weight + bias"
    >
      <Handle
        type="target"
        position={Position.Left}
        id="in0"
        isConnectable={!data.readOnly}
        aria-label="layer output"
        className="slot-handle"
      />
      <div className="node-head">
        <span className="node-op">output</span>
        <span
          className={`badge mode-${data.mode}`}
          aria-label={`mode ${data.mode === "B" ? "B, batch-based" : "S, sample-based"}`}
          title={data.mode === "B" ? "batch-based: uses batch statistics" : "sample-based: no batch statistics"}
        >
          {data.mode}
        </span>
        <IssueMark messages={messages} />
      </div>
      <div className="node-sub">× weight + bias</div>
    </div>
  );
});

export const nodeTypes: NodeTypes = { op: OpNode, labInput: InputNode, labOutput: OutputNode };
