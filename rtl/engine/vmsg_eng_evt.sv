// Notification events: one pending bit per queue, presented one at a time on evt_* (round robin)
// until the mailbox takes it. A notification for a queue whose event is pending or being
// presented merges into it (counted); one that arrives in the cycle its event is taken sets the
// bit again. A queue reset clears its pending bit; an event already presented is still delivered.

`default_nettype none

module vmsg_eng_evt #(
  parameter int unsigned NUM_Q = 4,  // queues, 1..64
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    notify_i,     // a decision said notify ...
  input  wire  [QW-1:0]          notify_q_i,   // ... for this queue
  input  wire  [NUM_Q-1:0]       clear_i,      // queue reset finished
  input  wire  [NUM_Q-1:0][15:0] q_dev_id_i,
  input  wire  [NUM_Q-1:0][15:0] q_vq_i,
  output logic [NUM_Q-1:0]       merged_o,     // the notification merged
  output logic [NUM_Q-1:0]       pending_o,    // pending bits (not yet presented)
  output logic                   evt_valid_o,
  input  wire                    evt_ready_i,
  output logic [15:0]            evt_dev_id_o,
  output logic [15:0]            evt_vq_o
);

  logic [NUM_Q-1:0] pend_q;
  logic             out_valid_q;
  logic [QW-1:0]    out_q_q;
  logic [15:0]      out_dev_q, out_vq_q;

  logic          arb_valid, load;
  logic [QW-1:0] arb_q;
  vmsg_eng_rr_arb #(.N(NUM_Q)) u_arb (
    .clk_i, .rst_ni,
    .req_i       (pend_q),
    .take_i      (load),
    .gnt_valid_o (arb_valid),
    .gnt_idx_o   (arb_q)
  );
  assign load = arb_valid && (!out_valid_q || evt_ready_i);

  logic presenting_n;  // the notified queue's event is presented and not taken this cycle
  assign presenting_n = out_valid_q && !evt_ready_i && (out_q_q == notify_q_i);

  always_comb begin
    merged_o = '0;
    if (notify_i && (pend_q[notify_q_i] || presenting_n)) merged_o[notify_q_i] = 1'b1;
  end

  logic [NUM_Q-1:0] pend_d;
  always_comb begin
    pend_d = pend_q;
    if (load) pend_d[arb_q] = 1'b0;
    if (notify_i && !pend_q[notify_q_i] && !presenting_n) pend_d[notify_q_i] = 1'b1;
    pend_d = pend_d & ~clear_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pend_q      <= '0;
      out_valid_q <= 1'b0;
      out_q_q     <= '0;
      out_dev_q   <= '0;
      out_vq_q    <= '0;
    end else begin
      pend_q <= pend_d;
      if (load) begin
        out_valid_q <= 1'b1;
        out_q_q     <= arb_q;
        out_dev_q   <= q_dev_id_i[arb_q];
        out_vq_q    <= q_vq_i[arb_q];
      end else if (evt_ready_i) begin
        out_valid_q <= 1'b0;
      end
    end
  end

  assign pending_o    = pend_q;
  assign evt_valid_o  = out_valid_q;
  assign evt_dev_id_o = out_dev_q;
  assign evt_vq_o     = out_vq_q;

`ifndef SYNTHESIS
  // assertions start one cycle after reset
  logic sva_en_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sva_en_q <= 1'b0;
    else         sva_en_q <= 1'b1;
  end
  a_evt_stable: assert property (@(posedge clk_i) disable iff (!sva_en_q)
    evt_valid_o && !evt_ready_i |=> evt_valid_o && $stable(evt_dev_id_o) && $stable(evt_vq_o))
    else $error("vmsg_eng_evt: event changed while presented");
`endif

endmodule

`default_nettype wire
