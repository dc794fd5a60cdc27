// Register slice of a valid/ready stream (a skid buffer): valid_o, data_o and ready_o all come
// from registers, so that no handshake passes through the slice in the same cycle in either
// direction. Two entries: a beat per cycle in steady state; a beat taken while the output
// stalls waits in the skid register, and ready_o falls only once that register is full.
//
// Timing contract: valid_o, data_o and ready_o are flops; valid_i, data_i and ready_i only
// enter the next-state logic. Latency: a beat taken in cycle t is on the output from t + 1.
// Data flops have no reset.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_skid #(
  parameter int unsigned WIDTH = 8  // bits of a beat, at least 1
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              valid_i,
  output logic             ready_o,
  input  wire [WIDTH-1:0]  data_i,
  output logic             valid_o,
  input  wire              ready_i,
  output logic [WIDTH-1:0] data_o
);

  // elaboration-time parameter checks
  if (WIDTH < 1) begin : g_param_err0
    $fatal(1, "vmsg_eng_skid: WIDTH must be at least 1");
  end

  logic             out_valid_q, skid_valid_q;
  logic [WIDTH-1:0] out_data_q, skid_data_q;
  logic             out_free, take;

  assign out_free = !out_valid_q || ready_i;   // the output register is free at the edge
  assign take     = valid_i && !skid_valid_q;  // a beat comes in

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
    end else if (out_free) begin
      out_valid_q  <= skid_valid_q || take;
      skid_valid_q <= 1'b0;
    end else if (take) begin
      skid_valid_q <= 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (out_free) begin
      out_data_q <= skid_valid_q ? skid_data_q : data_i;
    end
    if (take && !out_free) begin
      skid_data_q <= data_i;
    end
  end

  assign ready_o = !skid_valid_q;
  assign valid_o = out_valid_q;
  assign data_o  = out_data_q;

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // reference queue of the beats taken and not given yet: the slice gives them in order, none
  // lost and none twice
  logic                  in_hs, out_hs;
  logic [1:0]            ref_n_q;
  logic [1:0][WIDTH-1:0] ref_q;  // [0]: the oldest
  assign in_hs  = valid_i && ready_o;
  assign out_hs = valid_o && ready_i;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) ref_n_q <= '0;
    else         ref_n_q <= ref_n_q + 2'(in_hs) - 2'(out_hs);
  end
  always_ff @(posedge clk_i) begin
    if (out_hs) ref_q[0] <= ref_q[1];
    if (in_hs) ref_q[ref_n_q - 2'(out_hs)] <= data_i;
  end
  `VMSG_ASSERT(a_ref_count, 32'(ref_n_q) == 32'(out_valid_q) + 32'(skid_valid_q),
    ("vmsg_eng_skid: %0d beats held, %0d taken and not given", 32'(out_valid_q) + 32'(skid_valid_q), ref_n_q))
  `VMSG_ASSERT(a_ref_data, (out_valid_q -> out_data_q == ref_q[0]) && (skid_valid_q -> skid_data_q == ref_q[1]),
    ("vmsg_eng_skid: a beat given out of order or changed"))
  `VMSG_ASSERT(a_out_stable,
      $past(valid_o && !ready_i) -> valid_o && $stable(data_o),
    ("vmsg_eng_skid: output beat dropped or changed before ready"))
  `VMSG_ASSERT(a_skid_behind_out, skid_valid_q -> out_valid_q,
    ("vmsg_eng_skid: a beat in the skid register with the output register empty"))
`endif

endmodule

`default_nettype wire
